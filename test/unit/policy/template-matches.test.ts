/**
 * RepositoryMatcher.matches reads claims while it walks the name instead of building a matcher
 * per request; it must give exactly the answer of bind (allow rules) and bindDeny (deny rules).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRepositoryPattern } from '../../../src/policy/engine/template.js';

const segment = fc.constantFrom('team', 'app', '42', 'a', 'ab', 'x.y', 'a-b');
const literal = fc.array(segment, { minLength: 1, maxLength: 2 }).map((s) => s.join('/'));
const placeholder = fc.constantFrom('${owner}', '${repo}', '${id}', '${nested.key}');
const tail = fc.constantFrom('', '/*', '/**', '/app', '-*', '/**/x');
/** Prefix templates (no wildcard before the last placeholder) and spliced ones (a wildcard earlier). */
const pattern = fc
  .tuple(literal, fc.array(fc.tuple(placeholder, fc.constantFrom('/', '-', '/a/', '/*/')), { minLength: 1, maxLength: 3 }), tail)
  .map(([head, pieces, end]) => `${head}/${pieces.map(([p, sep], i) => (i === pieces.length - 1 ? p : `${p}${sep}`)).join('')}${end}`);
const value = fc.constantFrom<unknown>('team', 'app', '42', 42, 'a', 'x.y', 'Bad', 'a/b', '', undefined, null, -1, ['a']);
const claims = fc.option(
  fc.record({ owner: value, repo: value, id: value, nested: fc.option(fc.record({ key: value }), { nil: undefined }) }, { requiredKeys: [] }),
  { nil: undefined },
);
const name = fc.array(fc.constantFrom('team', 'app', '42', 'a', 'x.y', 'a-42', 'ab', 'x'), { minLength: 1, maxLength: 6 }).map((s) => s.join('/'));

describe('RepositoryMatcher.matches', () => {
  it('agrees with bind for allow rules and bindDeny for deny rules', () => {
    fc.assert(
      fc.property(pattern, claims, fc.array(name, { minLength: 1, maxLength: 4 }), (p, c, names) => {
        const m = compileRepositoryPattern(p);
        const c2 = c as Record<string, unknown> | undefined;
        const bound = m.bind(c2);
        const deny = m.bindDeny(c2);
        for (const n of names) {
          // Names built from the claims' own values, so bound placeholders do match sometimes.
          // The pattern with each placeholder replaced by its claim's value: names bound placeholders match.
          const valueOf = (path: string): string => {
            const v = path.split('.').reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), c2);
            return typeof v === 'string' || typeof v === 'number' ? String(v) : 'team';
          };
          const shaped = p.replace(/\$\{([^}]+)\}/g, (_x, path: string) => valueOf(path)).replace(/\*+/g, 'app');
          for (const candidate of [n, shaped, `${shaped}/x`, shaped.slice(0, -1)]) {
            expect(m.matches(c2, candidate, false)).toBe(bound?.(candidate) ?? false);
            expect(m.matches(c2, candidate, true)).toBe(deny(candidate));
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('matches a bound prefix template part by part', () => {
    const m = compileRepositoryPattern('ci/${owner}/${repo}/**');
    expect(m.matches({ owner: 'team', repo: 'app' }, 'ci/team/app/x/y', false)).toBe(true);
    expect(m.matches({ owner: 'team', repo: 'app' }, 'ci/team/app', false)).toBe(false);
    expect(m.matches({ owner: 'team', repo: 'app' }, 'ci/team/apps/x', false)).toBe(false);
    // Unbound: an allow does not apply, a deny reads the placeholder as `*`.
    expect(m.matches({ owner: 'team' }, 'ci/team/app/x', false)).toBe(false);
    expect(m.matches({ owner: 'team' }, 'ci/team/anything/x', true)).toBe(true);
    expect(m.matches({ owner: 'Team', repo: 'app' }, 'ci/other/app/x', true)).toBe(true);
    const exact = compileRepositoryPattern('ci/${owner}/app');
    expect(exact.matches({ owner: 'team' }, 'ci/team/app', false)).toBe(true);
    expect(exact.matches({ owner: 'team' }, 'ci/team/app/x', false)).toBe(false);
    expect(exact.matches({ owner: 'team' }, 'ci/team/ap', false)).toBe(false);
  });
});
