import type { ResourceScope } from './scope.js';

/** One entry of the registry token's `access` claim. The key is `actions`, plural. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export const ALL = '*';

/** The actions `*` stands for, per resource type; distribution knows no others. */
export const ACTIONS_OF: Readonly<Record<string, readonly string[]>> = { repository: ['pull', 'push', 'delete'] };

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

/**
 * The requested actions that `granted` (an access entry's actions) does not carry,
 * for audit records. A granted `*` carries everything; a requested `*` counts as
 * missing only when nothing at all was granted (it asks for whatever is held).
 */
export function missingActions(requested: readonly string[], granted: readonly string[]): string[] {
  if (granted.includes(ALL)) return [];
  const missing = requested.filter((a) => a !== ALL && !granted.includes(a));
  if (requested.includes(ALL) && granted.length === 0) missing.push(ALL);
  return missing;
}
