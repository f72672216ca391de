import { isPathComponent } from '../../registry/index.js';
import { parseClaimPath, resolveClaim, type ClaimPath } from './claim-path.js';
import { compileGlob, escapeRegex, globToRegexSource, hasGlob } from './glob.js';

/**
 * Repository patterns: globs with `${claim}` placeholders, e.g.
 * `ci/${repository_owner_id}/${repository_id}/**`.
 *
 * A substituted value must be one valid repository path component (lower
 * case, no "/", no "..", nothing outside the distribution grammar). Any other
 * value makes the grant not apply: a claim can narrow a grant, never widen it.
 * Values are escaped before they join the pattern, so they never act as globs.
 */

type Part = { readonly kind: 'glob'; readonly source: string } | { readonly kind: 'claim'; readonly path: ClaimPath };

export interface RepositoryMatcher {
  /** The pattern as written. */
  readonly pattern: string;
  /** Literal text every matching name starts with (up to the first `*` or `${`); may be empty. */
  readonly literalPrefix: string;
  readonly claimPaths: readonly ClaimPath[];
  /** Substitutes the claims; undefined when a value is missing or not a valid path component. */
  bind(claims: Readonly<Record<string, unknown>> | undefined): ((name: string) => boolean) | undefined;
}

const PLACEHOLDER_RE = /\$\{([^}]*)\}/g;
// Literal parts of repository patterns: the repository path alphabet plus "*".
const LITERAL_RE = /^[a-z0-9._/*-]*$/;
const CACHE_LIMIT = 256;

export function compileRepositoryPattern(pattern: string): RepositoryMatcher {
  const parts: Part[] = [];
  let last = 0;
  for (const m of pattern.matchAll(PLACEHOLDER_RE)) {
    pushLiteral(parts, pattern, pattern.slice(last, m.index));
    const inner = m[1] as string;
    if (inner === '') throw new Error(`empty placeholder in ${JSON.stringify(pattern)}`);
    parts.push({ kind: 'claim', path: parseClaimPath(inner) });
    last = m.index + m[0].length;
  }
  pushLiteral(parts, pattern, pattern.slice(last));
  const claimPaths = parts.flatMap((p) => (p.kind === 'claim' ? [p.path] : []));

  if (claimPaths.length === 0) {
    const test = hasGlob(pattern) ? regexTest(compileGlob(pattern)) : (name: string) => name === pattern;
    return { pattern, literalPrefix: literalPrefixOf(pattern), claimPaths, bind: () => test };
  }

  const fast = prefixTemplate(pattern, parts, claimPaths);
  if (fast !== undefined) return fast;

  // A wildcard before a placeholder: the regex depends on the values; cache a bounded number of them.
  const cache = new Map<string, (name: string) => boolean>();
  return {
    pattern,
    literalPrefix: literalPrefixOf(pattern),
    claimPaths,
    bind(claims) {
      const values = boundValues(claims, claimPaths);
      if (values === undefined) return undefined;
      const key = values.join('/'); // "/" cannot occur inside a value
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      let i = 0;
      const source = parts
        .map((p, n) => (p.kind === 'glob' ? globToRegexSource(p.source, n === 0) : escapeRegex(values[i++] as string)))
        .join('');
      const test = regexTest(new RegExp(`^(?:${source})$`));
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(key, test);
      return test;
    },
  };
}

/**
 * The common shape `literal/${claim}/…/${claim}<glob>`: no wildcard before the
 * last placeholder. The bound values then only form a literal prefix, and the
 * tail glob compiles once: no regex per distinct claim value (a fleet has
 * thousands of repository ids, which would thrash a cache of bound regexes).
 */
function prefixTemplate(pattern: string, parts: readonly Part[], claimPaths: readonly ClaimPath[]): RepositoryMatcher | undefined {
  let last = -1;
  for (let n = 0; n < parts.length; n++) if ((parts[n] as Part).kind === 'claim') last = n;
  const head = parts.slice(0, last + 1);
  if (head.some((p) => p.kind === 'glob' && hasGlob(p.source))) return undefined;
  const tail = parts
    .slice(last + 1)
    .map((p) => (p.kind === 'glob' ? p.source : ''))
    .join('');
  const tailRe = hasGlob(tail) ? new RegExp(`^(?:${globToRegexSource(tail, false)})$`) : undefined;
  return {
    pattern,
    literalPrefix: literalPrefixOf(pattern),
    claimPaths,
    bind(claims) {
      const values = boundValues(claims, claimPaths);
      if (values === undefined) return undefined;
      let prefix = '';
      let i = 0;
      for (const p of head) prefix += p.kind === 'glob' ? p.source : (values[i++] as string);
      if (tailRe === undefined) {
        const expected = prefix + tail;
        return (name) => name === expected;
      }
      return (name) => name.startsWith(prefix) && tailRe.test(name.slice(prefix.length));
    },
  };
}

/** The template values of `claims`, in placeholder order; undefined when any is missing or not a path component. */
function boundValues(claims: Readonly<Record<string, unknown>> | undefined, claimPaths: readonly ClaimPath[]): string[] | undefined {
  if (claims === undefined) return undefined;
  const values: string[] = [];
  for (const path of claimPaths) {
    const value = templateValue(resolveClaim(claims, path));
    if (value === undefined) return undefined;
    values.push(value);
  }
  return values;
}

function literalPrefixOf(pattern: string): string {
  const cut = [pattern.indexOf('*'), pattern.indexOf('${')].filter((i) => i >= 0);
  return cut.length === 0 ? pattern : pattern.slice(0, Math.min(...cut));
}

function pushLiteral(parts: Part[], pattern: string, literal: string): void {
  if (literal === '') return;
  if (literal.includes('$')) throw new Error(`"$" outside a \${claim} placeholder in ${JSON.stringify(pattern)}`);
  if (!LITERAL_RE.test(literal)) {
    throw new Error(`${JSON.stringify(pattern)} can never match a repository: use lower-case letters, digits, ".", "_", "-", "/" and "*"`);
  }
  parts.push({ kind: 'glob', source: literal });
}

function regexTest(re: RegExp): (name: string) => boolean {
  return (name) => re.test(name);
}

/** A claim value usable inside a repository name, or undefined. Non-negative integers are allowed (GitLab ids). */
export function templateValue(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) text = String(value);
  else return undefined;
  return isPathComponent(text) ? text : undefined;
}
