import { isPathComponent } from '../../registry/index.js';
import { parseClaimPath, resolveClaim, type ClaimPath } from './claim-path.js';
import { globTokens, hasGlob, matcherFromTokens, type Token } from './glob.js';
import { packed } from './packed.js';

/**
 * Repository patterns: globs with `${claim}` placeholders, e.g.
 * `ci/${repository_owner_id}/${repository_id}/**`.
 *
 * A substituted value must be one valid repository path component (lower
 * case, no "/", no "..", nothing outside the distribution grammar). Values are
 * spliced in as literals, so they never act as globs. A value that is missing
 * or not a path component cannot bind:
 * - in an allow rule the pattern does not apply (a claim can narrow a grant, never widen it);
 * - in a deny rule the placeholder stands for `*` (any run of characters
 *   within one path component), so no claim value can slip past a deny.
 */

type Part = { readonly kind: 'glob'; readonly source: string } | { readonly kind: 'claim'; readonly path: ClaimPath };

type NameTest = (name: string) => boolean;

export interface RepositoryMatcher {
  /** The pattern as written. */
  readonly pattern: string;
  /** Literal text every matching name starts with (up to the first `*` or `${`); may be empty. */
  readonly literalPrefix: string;
  readonly claimPaths: readonly ClaimPath[];
  /** Substitutes the claims; undefined when a value is missing or not a valid path component (allow rules). */
  bind(claims: Readonly<Record<string, unknown>> | undefined): NameTest | undefined;
  /** Substitutes the claims; a value that cannot bind stands for `*` (deny rules). */
  bindDeny(claims: Readonly<Record<string, unknown>> | undefined): NameTest;
  /**
   * `bind(claims)?.(name) ?? false`, or `bindDeny(claims)(name)` when `forDeny`: the same answer
   * without building a matcher for the common shapes (this runs for every grant on every request).
   */
  matches(claims: Readonly<Record<string, unknown>> | undefined, name: string, forDeny: boolean): boolean;
}

const PLACEHOLDER_RE = /\$\{([^}]*)\}/g;
// Literal parts of repository patterns: the repository path alphabet plus "*".
const LITERAL_RE = /^[a-z0-9._/*-]*$/;
const CACHE_LIMIT = 256;

export function compileRepositoryPattern(pattern: string): RepositoryMatcher {
  const found: Part[] = [];
  let last = 0;
  for (const m of pattern.matchAll(PLACEHOLDER_RE)) {
    pushLiteral(found, pattern, pattern.slice(last, m.index));
    const inner = m[1] as string;
    if (inner === '') throw new Error(`empty placeholder in ${JSON.stringify(pattern)}`);
    found.push({ kind: 'claim', path: parseClaimPath(inner) });
    last = m.index + m[0].length;
  }
  pushLiteral(found, pattern, pattern.slice(last));
  const parts = packed(found);
  checkCanMatch(pattern);
  const claimPaths = packed(parts.flatMap((p) => (p.kind === 'claim' ? [p.path] : [])));
  const literalPrefix = literalPrefixOf(pattern);

  if (claimPaths.length === 0) {
    const test = hasGlob(pattern) ? matcherFromTokens(globTokens(pattern)) : (name: string) => name === pattern;
    return { pattern, literalPrefix, claimPaths, bind: () => test, bindDeny: () => test, matches: (_claims, name) => test(name) };
  }

  // A matcher per combination of spliced values; bounded, because values come from tokens. Created on first use.
  let cache: Map<string, NameTest> | undefined;
  const spliced = (values: readonly (string | undefined)[]): NameTest => {
    cache ??= new Map();
    const key = values.map((v) => v ?? '*').join('/'); // "/" cannot occur inside a value, "*" not in a bound one
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const tokens: Token[] = [];
    let i = 0;
    parts.forEach((p, n) => {
      if (p.kind === 'glob') tokens.push(...globTokens(p.source, n === 0 || (parts[n - 1] as Part).kind === 'glob'));
      else {
        const v = values[i++];
        tokens.push(v === undefined ? { kind: 'star' } : { kind: 'lit', text: v });
      }
    });
    const test = matcherFromTokens(tokens);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, test);
    return test;
  };

  const fast = prefixTemplate(parts);
  const matcher: RepositoryMatcher = {
    pattern,
    literalPrefix,
    claimPaths,
    bind(claims) {
      const values = boundValues(claims, claimPaths);
      if (values.includes(undefined)) return undefined;
      return fast === undefined ? spliced(values) : fast.bind(values as string[]);
    },
    bindDeny(claims) {
      const values = boundValues(claims, claimPaths);
      if (fast !== undefined && !values.includes(undefined)) return fast.bind(values as string[]);
      return spliced(values);
    },
    matches(claims, name, forDeny) {
      const verdict = fast === undefined ? UNBOUND : fast.matches(claims, name);
      if (verdict !== UNBOUND) return verdict;
      if (forDeny) return matcher.bindDeny(claims)(name);
      return matcher.bind(claims)?.(name) ?? false;
    },
  };
  return matcher;
}

/** A placeholder had no usable value: the caller decides what that means (allow and deny differ). */
const UNBOUND = Symbol('unbound');

interface PrefixTemplate {
  bind(values: readonly string[]): NameTest;
  /** Matches `name` part by part as the claims are read; UNBOUND when a placeholder has no usable value. */
  matches(claims: Readonly<Record<string, unknown>> | undefined, name: string): boolean | typeof UNBOUND;
}

/**
 * The common shape `literal/${claim}/…/${claim}<glob>`: no wildcard before the
 * last placeholder. The bound values then only form a literal prefix, and the
 * tail glob compiles once: no matcher per distinct claim value (a fleet has
 * thousands of repository ids, which would thrash a cache).
 */
function prefixTemplate(parts: readonly Part[]): PrefixTemplate | undefined {
  let last = -1;
  for (let n = 0; n < parts.length; n++) if ((parts[n] as Part).kind === 'claim') last = n;
  const head = parts.slice(0, last + 1);
  if (head.some((p) => p.kind === 'glob' && hasGlob(p.source))) return undefined;
  const tail = parts
    .slice(last + 1)
    .map((p) => (p.kind === 'glob' ? p.source : ''))
    .join('');
  const tailTest = hasGlob(tail) ? matcherFromTokens(globTokens(tail, false)) : undefined;
  const rest = (name: string, at: number): boolean =>
    tailTest === undefined ? name.length === at + tail.length && name.startsWith(tail, at) : tailTest(name.slice(at));
  return {
    bind(values) {
      let prefix = '';
      let i = 0;
      for (const p of head) prefix += p.kind === 'glob' ? p.source : (values[i++] as string);
      if (tailTest === undefined) {
        const expected = prefix + tail;
        return (name) => name === expected;
      }
      return (name) => name.startsWith(prefix) && tailTest(name.slice(prefix.length));
    },
    matches(claims, name) {
      // The head holds no wildcard, so a mismatch before an unbound placeholder is final
      // however that placeholder would be read (nothing can shift what comes before it).
      let at = 0;
      for (let n = 0; n < head.length; n++) {
        const p = head[n] as Part;
        const text = p.kind === 'glob' ? p.source : claims === undefined ? undefined : templateValue(resolveClaim(claims, p.path));
        if (text === undefined) return UNBOUND;
        if (!name.startsWith(text, at)) return false;
        at += text.length;
      }
      return rest(name, at);
    },
  };
}

/** The template values of `claims`, in placeholder order; undefined where missing or not a path component. */
function boundValues(claims: Readonly<Record<string, unknown>> | undefined, claimPaths: readonly ClaimPath[]): (string | undefined)[] {
  return claimPaths.map((path) => (claims === undefined ? undefined : templateValue(resolveClaim(claims, path))));
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

/**
 * Refuses patterns no repository name can match: an empty segment (`team//a`,
 * `/team`, `team/`), `***` (not defined), or a literal segment that is not a
 * valid path component (`team/-a`, `a..b`).
 */
function checkCanMatch(pattern: string): void {
  const shape = pattern.replace(PLACEHOLDER_RE, 'x');
  const never = (why: string): Error => new Error(`${JSON.stringify(pattern)} can never match a repository: ${why}`);
  if (shape.includes('***')) throw never('"***" is not defined (use "*" within a segment or "**" across segments)');
  const segments = shape.split('/');
  if (segments.some((s) => s === '')) throw never('it has an empty path segment (a leading, trailing or doubled "/")');
  const placeholderAt = pattern.replace(PLACEHOLDER_RE, '\u0000').split('/');
  segments.forEach((s, i) => {
    if (hasGlob(s) || (placeholderAt[i] ?? '').includes('\u0000')) return;
    if (!isPathComponent(s)) throw never(`${JSON.stringify(s)} is not a repository path component (lower-case letters and digits, separated by ".", "_", "__" or "-")`);
  });
}

/** A claim value usable inside a repository name, or undefined. Non-negative integers are allowed (GitLab ids). */
export function templateValue(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) text = String(value);
  else return undefined;
  return isPathComponent(text) ? text : undefined;
}
