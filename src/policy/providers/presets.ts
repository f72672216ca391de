import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatClaimPath, parseClaimPath } from '../engine/claim-path.js';
import { PolicyError } from '../errors.js';
import type { PresetClaim, ProviderPreset } from './preset-types.js';
import { zodIssues } from '../zod-issues.js';

/** The preset YAML files beside this loader; the build copies them next to the compiled loader in dist/. */
export const BUILTIN_PRESETS_DIR = fileURLToPath(new URL('./presets/', import.meta.url));

const LintCodeName = z.string().regex(/^[a-z][a-z0-9-]*$/);
const LintLevel = z.enum(['error', 'warning']);

const PresetFile = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/),
  description: z.string(),
  issuers: z.array(z.url({ protocol: /^https?$/ })),
  sharedIssuer: z.boolean(),
  tenantClaims: z.array(z.string().min(1)),
  untrustedEvents: z
    .strictObject({ claim: z.string().min(1), oneOf: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1) })
    .optional(),
  lint: z
    .array(
      z.discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('condition-text-contains'), code: LintCodeName, level: LintLevel, claim: z.string().min(1), contains: z.string().min(1), message: z.string().min(1) }),
        z.strictObject({
          kind: z.literal('condition-requires'),
          code: LintCodeName,
          level: LintLevel,
          claim: z.string().min(1),
          requires: z.strictObject({ claim: z.string().min(1), equals: z.union([z.string(), z.number(), z.boolean()]) }),
          message: z.string().min(1),
        }),
      ]),
    )
    .optional(),
  claims: z.record(
    z.string().min(1),
    z.strictObject({
      type: z.enum(['string', 'number', 'boolean', 'array', 'object']),
      kind: z.enum(['id', 'name', 'display', 'context']),
      containsSlash: z.boolean().optional(),
      idClaim: z.string().min(1).optional(),
      note: z.string().optional(),
    }),
  ),
});

/** Validates one preset document. Claim names are canonicalized (`a\.b.c`). */
export function parsePreset(doc: unknown, source?: string): ProviderPreset {
  const parsed = PresetFile.safeParse(doc);
  if (!parsed.success) throw new PolicyError(zodIssues(parsed.error.issues), source);
  const p = parsed.data;
  const canon = (s: string): string => formatClaimPath(parseClaimPath(s));
  const claims: Record<string, PresetClaim> = {};
  for (const [name, c] of Object.entries(p.claims)) {
    claims[canon(name)] = { ...c, ...(c.idClaim === undefined ? {} : { idClaim: canon(c.idClaim) }) };
  }
  return {
    name: p.name,
    description: p.description,
    issuers: p.issuers,
    sharedIssuer: p.sharedIssuer,
    tenantClaims: p.tenantClaims.map(canon),
    claims,
    lint: (p.lint ?? []).map((c) =>
      c.kind === 'condition-requires' ? { ...c, claim: canon(c.claim), requires: { ...c.requires, claim: canon(c.requires.claim) } } : { ...c, claim: canon(c.claim) },
    ),
    ...(p.untrustedEvents === undefined ? {} : { untrustedEvents: { claim: parseClaimPath(p.untrustedEvents.claim), oneOf: p.untrustedEvents.oneOf } }),
  };
}

/** Loads every `*.yaml` in `dir`; the preset's `name` must equal the file name. */
export function loadPresetsSync(dir: string = BUILTIN_PRESETS_DIR): Map<string, ProviderPreset> {
  const presets = new Map<string, ProviderPreset>();
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const path = join(dir, file);
    const preset = parsePreset(parseYaml(readFileSync(path, 'utf8')), path);
    const expected = file.replace(/\.ya?ml$/, '');
    if (preset.name !== expected) throw new PolicyError([{ path: 'name', message: `must be ${JSON.stringify(expected)} (the file name)` }], path);
    presets.set(preset.name, preset);
  }
  return presets;
}

let builtin: ReadonlyMap<string, ProviderPreset> | undefined;

/** The presets shipped beside this loader, loaded once. */
export function builtinPresets(): ReadonlyMap<string, ProviderPreset> {
  builtin ??= loadPresetsSync();
  return builtin;
}
