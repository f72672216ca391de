import { buildResourceDenies, isUnconditionalDeny } from './deny-index.js';
import { formatClaimPath, resolveClaim, type ClaimPath } from './claim-path.js';
import type { ClaimIndex, CompiledRule, IssuerRules } from './compiled.js';
import { claimText } from './conditions.js';

/**
 * The per-issuer claim index: a pre-filter, never a decision. A rule is filed
 * under keys that are *necessary* for its claim checks to pass (an exact value
 * the claim must equal, or a literal prefix its text must start with), so a
 * lookup may only drop rules that cannot match; every candidate's own checks
 * still run.
 */

/** Below this many keyed rules a linear scan is as fast as the lookup. */
const MIN_INDEXED_RULES = 8;
/** Distinct prefix lengths looked up per decision, at most: more are shortened to a kept length. */
const MAX_PREFIX_LENGTHS = 8;
/** Claims indexed one inside the other's rest, at most: each costs a lookup per decision and a pass over the rules at compile time. */
const MAX_INDEX_DEPTH = 8;

/** Type-aware key: the string "65" and the number 65 stay distinct. */
export function valueKey(value: unknown): string | undefined {
  if (typeof value === 'string') return `s:${value}`;
  if (typeof value === 'number') return `n:${value}`;
  if (typeof value === 'boolean') return `b:${value}`;
  return undefined;
}

/** What a rule needs of one claim: to equal one of these values (typed keys), or for its text to start with one of these prefixes. */
type Keys = { readonly kind: 'exact'; readonly values: readonly string[] } | { readonly kind: 'prefix'; readonly prefixes: readonly string[] };

interface PathKeys {
  readonly path: ClaimPath;
  readonly keys: Keys;
}

export function buildIssuerRules(rules: readonly CompiledRule[]): IssuerRules {
  const denies = buildResourceDenies(rules.filter(isUnconditionalDeny));
  const conditioned = denies === undefined ? rules : rules.filter((r) => !isUnconditionalDeny(r));
  const keyed = new Map<CompiledRule, ReadonlyMap<string, PathKeys>>();
  for (const rule of conditioned) keyed.set(rule, ruleKeys(rule));
  const built = build(conditioned, keyed, MAX_INDEX_DEPTH);
  return denies === undefined ? built : { all: rules, split: { conditioned: built, denies } };
}

/**
 * The rules that can match these claims, in document order; with `split`, the rules with
 * conditions only (the unconditional denies come from `denyCandidates`).
 */
export function issuerCandidates(entry: IssuerRules, claims: Readonly<Record<string, unknown>>): readonly CompiledRule[] {
  if (entry.split !== undefined) return issuerCandidates(entry.split.conditioned, claims);
  const index = entry.index;
  if (index === undefined) return entry.all;
  let out = issuerCandidates(index.rest, claims);
  const value = resolveClaim(claims, index.path);
  const key = valueKey(value);
  if (key !== undefined) {
    const hit = index.byValue.get(key);
    if (hit !== undefined) out = mergeByIndex(out, hit);
  }
  // Globs see strings only and `asString` tests see numbers and booleans as text: the text form covers both.
  const text = claimText(value);
  if (text !== undefined) {
    for (const { length, rules } of index.byPrefix) {
      if (length > text.length) break;
      const hit = rules.get(length === text.length ? text : text.slice(0, length));
      if (hit !== undefined) out = mergeByIndex(out, hit);
    }
  }
  return out;
}

/** Per claim path (canonical form), the keys the rule's checks on it imply; exact values win over prefixes (narrower). */
function ruleKeys(rule: CompiledRule): Map<string, PathKeys> {
  const out = new Map<string, PathKeys>();
  for (const c of rule.claimChecks) {
    const pathKey = formatClaimPath(c.path);
    if (c.exact !== undefined) {
      const values = c.exact.map(valueKey);
      if (values.every((v): v is string => v !== undefined)) out.set(pathKey, { path: c.path, keys: { kind: 'exact', values: [...new Set(values)] } });
    } else if (c.textPrefixes !== undefined && out.get(pathKey) === undefined) {
      out.set(pathKey, { path: c.path, keys: { kind: 'prefix', prefixes: c.textPrefixes } });
    }
  }
  return out;
}

function build(rules: readonly CompiledRule[], keyed: ReadonlyMap<CompiledRule, ReadonlyMap<string, PathKeys>>, depth: number): IssuerRules {
  const index = depth === 0 ? undefined : bestIndex(rules, keyed, depth);
  return index === undefined ? { all: rules } : { all: rules, index };
}

interface Plan {
  readonly path: ClaimPath;
  readonly keys: ReadonlyMap<CompiledRule, Keys>;
  /** Expected rules per hit among the keyed ones (Σ group² / keyed): lower discriminates better. */
  readonly perHit: number;
}

/**
 * The claim that splits the rules best: the fewest rules per hit, then the most
 * rules keyed. Counting keyed rules alone would pick `ref: { glob: "refs/heads/*" }`,
 * which every rule of a CI issuer has and which tells none apart. The rules left
 * unkeyed are indexed in turn by the next best claim.
 */
function bestIndex(rules: readonly CompiledRule[], keyed: ReadonlyMap<CompiledRule, ReadonlyMap<string, PathKeys>>, depth: number): ClaimIndex | undefined {
  const paths = new Map<string, ClaimPath>();
  for (const rule of rules) for (const [pathKey, { path }] of keyed.get(rule) ?? []) paths.set(pathKey, path);
  let best: Plan | undefined;
  for (const [pathKey, path] of paths) {
    const plan = planFor(rules, keyed, pathKey, path);
    if (plan.keys.size < MIN_INDEXED_RULES || plan.perHit > plan.keys.size / 2) continue;
    if (best === undefined || plan.perHit < best.perHit || (plan.perHit === best.perHit && plan.keys.size > best.keys.size)) best = plan;
  }
  if (best === undefined) return undefined;

  const byValue = new Map<string, CompiledRule[]>();
  const byLength = new Map<number, Map<string, CompiledRule[]>>();
  const rest: CompiledRule[] = [];
  for (const rule of rules) {
    const keys = best.keys.get(rule);
    if (keys === undefined) rest.push(rule);
    else if (keys.kind === 'exact') for (const v of keys.values) push(byValue, v, rule);
    else {
      for (const p of keys.prefixes) {
        let map = byLength.get(p.length);
        if (map === undefined) byLength.set(p.length, (map = new Map()));
        push(map, p, rule);
      }
    }
  }
  const byPrefix = [...byLength].sort((a, b) => a[0] - b[0]).map(([length, map]) => ({ length, rules: map }));
  return { path: best.path, byValue, byPrefix, rest: build(rest, keyed, depth - 1) };
}

function planFor(rules: readonly CompiledRule[], keyed: ReadonlyMap<CompiledRule, ReadonlyMap<string, PathKeys>>, pathKey: string, path: ClaimPath): Plan {
  const found: [CompiledRule, Keys][] = [];
  const lengths = new Map<number, number>();
  for (const rule of rules) {
    const keys = keyed.get(rule)?.get(pathKey)?.keys;
    if (keys === undefined) continue;
    found.push([rule, keys]);
    if (keys.kind === 'prefix') for (const p of keys.prefixes) lengths.set(p.length, (lengths.get(p.length) ?? 0) + 1);
  }
  const kept = keptLengths(lengths);
  const keys = new Map<CompiledRule, Keys>();
  const groups = new Map<string, number>();
  for (const [rule, k] of found) {
    const usable = k.kind === 'exact' ? k : shorten(k.prefixes, kept);
    if (usable === undefined) continue;
    keys.set(rule, usable);
    const names = usable.kind === 'exact' ? usable.values.map((v) => `=${v}`) : usable.prefixes.map((p) => `^${p}`);
    for (const g of names) groups.set(g, (groups.get(g) ?? 0) + 1);
  }
  let squares = 0;
  for (const n of groups.values()) squares += n * n;
  return { path, keys, perHit: keys.size === 0 ? Infinity : squares / keys.size };
}

/** The prefix lengths to look up: all of them when few, else the most used ones (ascending). */
function keptLengths(counts: ReadonlyMap<number, number>): number[] {
  const all = [...counts.keys()];
  if (all.length <= MAX_PREFIX_LENGTHS) return all.sort((a, b) => a - b);
  return all
    .sort((a, b) => (counts.get(b) as number) - (counts.get(a) as number) || b - a)
    .slice(0, MAX_PREFIX_LENGTHS)
    .sort((a, b) => a - b);
}

/**
 * Cuts each prefix to the longest kept length that fits: a shorter prefix of a
 * necessary prefix is still necessary. A prefix shorter than every kept length
 * leaves the rule unkeyed (it must be found under all of its prefixes or none).
 */
function shorten(prefixes: readonly string[], kept: readonly number[]): Keys | undefined {
  const out = new Set<string>();
  for (const p of prefixes) {
    let length = 0;
    for (const l of kept) if (l <= p.length) length = l;
    if (length === 0) return undefined;
    out.add(p.slice(0, length));
  }
  return { kind: 'prefix', prefixes: [...out] };
}

function push(map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rule]);
  else list.push(rule);
}

/** Both lists in document order → their union in document order (a rule filed under two matching prefixes appears once). */
export function mergeByIndex(a: readonly CompiledRule[], b: readonly CompiledRule[]): readonly CompiledRule[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: CompiledRule[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as CompiledRule;
    const y = b[j] as CompiledRule;
    if (x.index <= y.index) {
      out.push(x);
      i++;
      if (x.index === y.index) j++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++] as CompiledRule);
  while (j < b.length) out.push(b[j++] as CompiledRule);
  return out;
}
