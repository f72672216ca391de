import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { compilePolicyDocument, type CompileOptions, type CompiledPolicy } from '../engine/compile.js';
import { builtinPresets } from '../providers/presets.js';
import { PolicyDocument, unsafeKeyIssues } from '../engine/document.js';
import { PolicyError, type PolicyIssue } from '../errors.js';
import { zodIssues } from '../zod-issues.js';

/** Compiles a parsed document against the built-in provider presets unless others are given. */
export function compilePolicy(doc: unknown, options: CompileOptions = {}): CompiledPolicy {
  return compilePolicyDocument(doc, { ...options, presets: options.presets ?? builtinPresets() });
}

/** Parses YAML (JSON is YAML too) into a plain document; syntax errors become PolicyError. */
export function parsePolicyYaml(text: string, source?: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0] ?? e.message })),
      source,
    );
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/** Parses and compiles policy text. */
export function parsePolicy(text: string, options: CompileOptions = {}): CompiledPolicy {
  return compilePolicy(parsePolicyYaml(text, options.source), options);
}

/**
 * Loads a policy file, or a directory of `*.yaml`/`*.yml` files (sorted by
 * name, rules concatenated; rule ids must be unique across files).
 */
export async function loadPolicyFile(path: string, options: Omit<CompileOptions, 'source'> = {}): Promise<CompiledPolicy> {
  if (!(await stat(path)).isDirectory()) return parsePolicy(await readFile(path, 'utf8'), { ...options, source: path });

  const files = (await readdir(path)).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) throw new PolicyError([{ path: '', message: 'no *.yaml files in the policy directory' }], path);
  const rules: unknown[] = [];
  const origins: { file: string; start: number }[] = [];
  const issues: PolicyIssue[] = [];
  for (const file of files) {
    const filePath = join(path, file);
    let doc: unknown;
    try {
      doc = parsePolicyYaml(await readFile(filePath, 'utf8'), filePath);
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      issues.push(...err.issues.map((i) => ({ ...i, path: prefix(file, i.path) })));
      continue;
    }
    // Checked before validation, which would drop a `__proto__` key silently.
    const unsafe = unsafeKeyIssues(doc);
    if (unsafe.length > 0) {
      issues.push(...unsafe.map((i) => ({ ...i, path: prefix(file, i.path) })));
      continue;
    }
    const parsed = PolicyDocument.safeParse(doc);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error.issues).map((i) => ({ ...i, path: prefix(file, i.path) })));
      continue;
    }
    origins.push({ file, start: rules.length });
    rules.push(...parsed.data.rules);
  }
  if (issues.length > 0) throw new PolicyError(issues, path);
  try {
    return compilePolicy({ version: 1, rules }, { ...options, source: path });
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    throw new PolicyError(err.issues.map((i) => ({ ...i, path: remap(i.path, origins) })), path);
  }
}

function prefix(file: string, path: string): string {
  return path === '' ? file : `${file}: ${path}`;
}

/** `rules[7].x` of the merged document → `b.yaml: rules[2].x`. */
function remap(path: string, origins: readonly { file: string; start: number }[]): string {
  const m = /^rules\[(\d+)\]/.exec(path);
  if (m === null) return path;
  const index = Number(m[1]);
  const origin = [...origins].reverse().find((o) => o.start <= index);
  if (origin === undefined) return path;
  return prefix(origin.file, `rules[${index - origin.start}]${path.slice(m[0].length)}`);
}
