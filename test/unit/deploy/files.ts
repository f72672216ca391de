import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** Helpers shared by the deploy tests: where the artefacts are and how to read them. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const DEPLOY = join(REPO, 'deploy');
export const COMPOSE = join(DEPLOY, 'compose');
export const CHART = join(DEPLOY, 'helm', 'portcullis');

export function text(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Parses one YAML document strictly (duplicate keys are errors). */
export function yamlFile(path: string): unknown {
  return parse(text(path), { uniqueKeys: true, prettyErrors: true });
}

export function allYamlErrors(path: string): string[] {
  return parseAllDocuments(text(path), { uniqueKeys: true }).flatMap((d) => ('errors' in d ? d.errors.map((e) => e.message) : []));
}

export function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

export function rel(path: string): string {
  return relative(REPO, path);
}

export function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what}: expected a mapping`);
  return value as Record<string, unknown>;
}

/** `get(obj, 'a.b.c')` for plain parsed YAML, undefined when any step is missing. */
export function get(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    if (!Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}
