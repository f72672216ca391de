import { formatClaimPath, resolveClaim } from './claim-path.js';
import type { CompiledRule, IssuerRules } from './compiled.js';

/** Below this many pinned rules a linear scan is as fast as the lookup. */
const MIN_INDEXED_RULES = 8;

/** Type-aware key: the string "65" and the number 65 stay distinct. */
export function valueKey(value: unknown): string | undefined {
  if (typeof value === 'string') return `s:${value}`;
  if (typeof value === 'number') return `n:${value}`;
  if (typeof value === 'boolean') return `b:${value}`;
  return undefined;
}

export function buildIssuerRules(rules: readonly CompiledRule[]): IssuerRules {
  // The claim path pinned by the most rules is the discriminator.
  const counts = new Map<string, { path: readonly string[]; n: number }>();
  for (const rule of rules) {
    for (const c of rule.claimChecks) {
      if (c.exact === undefined) continue;
      const key = formatClaimPath(c.path);
      const entry = counts.get(key);
      if (entry === undefined) counts.set(key, { path: c.path, n: 1 });
      else entry.n++;
    }
  }
  let best: { path: readonly string[]; n: number } | undefined;
  for (const entry of counts.values()) if (best === undefined || entry.n > best.n) best = entry;
  if (best === undefined || best.n < MIN_INDEXED_RULES) return { all: rules };

  const bestKey = formatClaimPath(best.path);
  const byValue = new Map<string, CompiledRule[]>();
  const rest: CompiledRule[] = [];
  for (const rule of rules) {
    const pin = rule.claimChecks.find((c) => c.exact !== undefined && formatClaimPath(c.path) === bestKey);
    if (pin?.exact === undefined) {
      rest.push(rule);
      continue;
    }
    for (const v of new Set(pin.exact.map(valueKey))) {
      if (v === undefined) continue;
      const list = byValue.get(v);
      if (list === undefined) byValue.set(v, [rule]);
      else list.push(rule);
    }
  }
  return { all: rules, index: { path: best.path, byValue, rest } };
}

/** The rules that can match these claims, in document order. */
export function issuerCandidates(entry: IssuerRules, claims: Readonly<Record<string, unknown>>): readonly CompiledRule[] {
  const index = entry.index;
  if (index === undefined) return entry.all;
  const key = valueKey(resolveClaim(claims, index.path));
  const pinned = key === undefined ? undefined : index.byValue.get(key);
  if (pinned === undefined) return index.rest;
  if (index.rest.length === 0) return pinned;
  return mergeByIndex(pinned, index.rest);
}

function mergeByIndex(a: readonly CompiledRule[], b: readonly CompiledRule[]): CompiledRule[] {
  const out: CompiledRule[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.index < y.index)) {
      out.push(x as CompiledRule);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}
