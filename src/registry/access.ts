import type { ResourceScope } from './scope.js';

/** One entry of the registry token's `access` claim. The key is `actions`, plural. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export const ALL = '*';

/**
 * Merges scopes that name the same resource (type + name; class is ignored by
 * the registry), unioning their actions. Order of first appearance is kept.
 */
export function mergeScopes(scopes: readonly ResourceScope[]): ResourceScope[] {
  const byKey = new Map<string, { type: string; name: string; actions: string[] }>();
  for (const s of scopes) {
    const key = `${s.type}\u0000${s.name}`;
    const existing = byKey.get(key);
    if (!existing) {
      byKey.set(key, { type: s.type, name: s.name, actions: [...s.actions] });
    } else {
      for (const a of s.actions) if (!existing.actions.includes(a)) existing.actions.push(a);
    }
  }
  return [...byKey.values()];
}

/**
 * What may be granted for one requested resource, given the set of actions the
 * policy allows on it. `*` in `granted` means every action; `*` in `requested`
 * asks for everything the identity holds (skopeo's delete sends `*`).
 *
 * - granted has `*`, requested has `*`  → ["*"]
 * - granted has `*`, requested explicit → the requested actions
 * - requested has `*`, granted explicit → the explicit granted set (it must
 *   contain `delete` for a delete to work; never intersect `*` literally)
 * - otherwise                           → requested ∩ granted
 */
export function grantActions(requested: readonly string[], granted: ReadonlySet<string>): string[] {
  const wantsAll = requested.includes(ALL);
  if (granted.has(ALL)) return wantsAll ? [ALL] : requested.filter((a) => a !== ALL);
  if (wantsAll) return [...granted].sort();
  return requested.filter((a) => granted.has(a));
}

/** Builds the `access` claim from merged scopes and a grant lookup. */
export function buildAccess(
  requested: readonly ResourceScope[],
  grantedFor: (scope: ResourceScope) => ReadonlySet<string>,
): AccessEntry[] {
  return mergeScopes(requested).map((s) => ({ type: s.type, name: s.name, actions: grantActions(s.actions, grantedFor(s)) }));
}
