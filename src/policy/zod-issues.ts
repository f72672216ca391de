import type { z } from 'zod';
import { formatPath, type PolicyIssue } from './errors.js';

type Issue = z.core.$ZodIssue;

/**
 * Flattens zod issues into path + message. A failed union reports the branch
 * that got furthest (deepest path), so an error inside a condition object
 * names that key instead of "invalid input".
 */
export function zodIssues(issues: readonly Issue[], base: readonly PropertyKey[] = []): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const best = pickBranch(issue.errors);
      if (best !== undefined) {
        out.push(...zodIssues(best, path));
        continue;
      }
    }
    out.push({ path: formatPath(path), message: issue.message });
  }
  return dedupe(out);
}

function depth(issues: readonly Issue[]): number {
  let d = -1;
  for (const i of issues) {
    // A type mismatch at the root of a branch means "this branch was not meant".
    const meaningful = !(i.code === 'invalid_type' && i.path.length === 0);
    if (meaningful) d = Math.max(d, i.path.length);
  }
  return d;
}

function pickBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  let best: readonly Issue[] | undefined;
  let bestDepth = -1;
  for (const b of branches) {
    const d = depth(b);
    if (d > bestDepth) {
      best = b;
      bestDepth = d;
    }
  }
  return best;
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
