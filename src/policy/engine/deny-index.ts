/**
 * Deny rules without conditions of their own ("nobody from this issuer deletes in team-a/**")
 * are the same for every caller, so the claim index cannot narrow them: a multi-tenant policy
 * would check every tenant's deny on every request. Here they are keyed by the first path
 * segment their grants name, and a decision looks only at the denies for the repositories it
 * was asked about. A deny whose grants do not pin a whole first segment (`**`, `team-*`, the
 * catalog) is looked at for every request. Like the claim index, this only ever leaves out
 * rules that cannot touch the request; the rule's grants still decide.
 */
import type { ResourceScope } from '../../registry/index.js';
import type { CompiledRule } from './compiled.js';

export interface ResourceDenies {
  /** First path segment → the unconditional denies naming a repository under it. */
  readonly bySegment: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Unconditional denies that may name any repository (or the catalog). */
  readonly anywhere: readonly CompiledRule[];
}

/** Below this many, scanning them is as cheap as the lookup. */
const MIN_INDEXED = 4;

export function isUnconditionalDeny(rule: CompiledRule): boolean {
  return rule.effect === 'deny' && rule.claimChecks.length === 0 && rule.otherChecks.length === 0;
}

/** Undefined when there are too few to be worth an index. */
export function buildResourceDenies(denies: readonly CompiledRule[]): ResourceDenies | undefined {
  if (denies.length < MIN_INDEXED) return undefined;
  const bySegment = new Map<string, CompiledRule[]>();
  const anywhere: CompiledRule[] = [];
  for (const rule of denies) {
    const segments = firstSegments(rule);
    if (segments === undefined) {
      anywhere.push(rule);
      continue;
    }
    for (const s of segments) {
      const list = bySegment.get(s);
      if (list === undefined) bySegment.set(s, [rule]);
      else list.push(rule);
    }
  }
  return { bySegment, anywhere };
}

/** The first segments every name the rule's grants can match starts with; undefined when some grant is not so bounded. */
function firstSegments(rule: CompiledRule): Set<string> | undefined {
  const out = new Set<string>();
  for (const grant of rule.grants) {
    if (grant.kind !== 'repository') return undefined;
    for (const m of grant.matchers) {
      const slash = m.literalPrefix.indexOf('/');
      if (slash <= 0) return undefined;
      out.add(m.literalPrefix.slice(0, slash));
    }
  }
  return out;
}

/** The unconditional denies that can name one of these resources, each once, in document order. */
export function denyCandidates(index: ResourceDenies, scopes: readonly ResourceScope[]): readonly CompiledRule[] {
  let out: CompiledRule[] | undefined;
  for (const scope of scopes) {
    if (scope.type !== 'repository') continue;
    const slash = scope.name.indexOf('/');
    const hit = index.bySegment.get(slash < 0 ? scope.name : scope.name.slice(0, slash));
    if (hit === undefined) continue;
    out ??= [];
    for (const rule of hit) if (!out.includes(rule)) out.push(rule);
  }
  if (out === undefined) return index.anywhere;
  for (const rule of index.anywhere) if (!out.includes(rule)) out.push(rule);
  return out.sort((a, b) => a.index - b.index);
}
