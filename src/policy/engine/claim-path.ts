/**
 * Claim paths. A string path separates segments with "." and escapes a
 * literal dot or backslash with "\" (`kubernetes\.io.namespace`,
 * `oidc\.circleci\.com/project-id`); a list path gives the segments
 * literally (`["kubernetes.io", "namespace"]`). "/" is never special.
 */

export type ClaimPath = readonly string[];

export function parseClaimPath(input: string | readonly string[]): ClaimPath {
  if (typeof input !== 'string') return [...input];
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (c === '\\') {
      const next = input[i + 1];
      if (next !== '.' && next !== '\\') throw new Error(`"\\" must be followed by "." or "\\" in claim path ${JSON.stringify(input)}`);
      current += next;
      i++;
    } else if (c === '.') {
      segments.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  segments.push(current);
  if (segments.some((s) => s === '')) throw new Error(`empty segment in claim path ${JSON.stringify(input)}`);
  return segments;
}

/** Canonical string form (used in traces and lint messages). */
export function formatClaimPath(path: ClaimPath): string {
  return path.map((s) => s.replace(/\\/g, '\\\\').replace(/\./g, '\\.')).join('.');
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Looks a path up in the claims; only own properties of plain objects count (no prototype keys). */
export function resolveClaim(claims: Readonly<Record<string, unknown>>, path: ClaimPath): unknown {
  let node: unknown = claims;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if (!hasOwn.call(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
