/**
 * Claim paths. A string path separates segments with "." and escapes a
 * literal dot or backslash with "\" (`kubernetes\.io.namespace`,
 * `oidc\.circleci\.com/project-id`); a list path gives the segments
 * literally (`["kubernetes.io", "namespace"]`). "/" is never special.
 */

import { packed } from './packed.js';

export type ClaimPath = readonly string[];

export function parseClaimPath(input: string | readonly string[]): ClaimPath {
  if (typeof input !== 'string') return packed(input);
  const segments: string[] = [];
  // Each segment is sliced (or, with escapes, joined) out of the input: a flat string, not a
  // chain of one-character concatenations that the compiled policy would keep.
  let pieces: string[] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (c === '\\') {
      const next = input[i + 1];
      if (next !== '.' && next !== '\\') throw new Error(`"\\" must be followed by "." or "\\" in claim path ${JSON.stringify(input)}`);
      pieces.push(input.slice(start, i), next);
      i++;
      start = i + 1;
    } else if (c === '.') {
      pieces.push(input.slice(start, i));
      segments.push(pieces.join(''));
      pieces = [];
      start = i + 1;
    }
  }
  pieces.push(input.slice(start));
  segments.push(pieces.join(''));
  if (segments.some((s) => s === '')) throw new Error(`empty segment in claim path ${JSON.stringify(input)}`);
  return packed(segments);
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
