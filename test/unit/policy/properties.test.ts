import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPathComponent, isRepositoryName } from '../../../src/registry/index.js';
import { compileGlob, compilePolicy, parsePolicy, type PolicyRequest } from '../../../src/policy/index.js';
import { identity, request } from './helpers.js';

const ISS = 'https://issuer.example';

/** Reference glob semantics as plain backtracking: `*` = any run without "/", `**` = any run, and a double star plus slash at a segment start = zero or more non-empty segments. */
function refMatch(glob: string, s: string, startsSegment = true): boolean {
  if (glob === '') return s === '';
  if (glob.startsWith('**/') && startsSegment) {
    // zero segments, or one non-empty segment and then the same again
    if (refMatch(glob.slice(3), s, true)) return true;
    const slash = s.indexOf('/');
    return slash > 0 && refMatch(glob, s.slice(slash + 1), true);
  }
  if (glob.startsWith('**')) {
    const rest = glob.replace(/^\*+/, '');
    for (let i = 0; i <= s.length; i++) if (refMatch(rest, s.slice(i), i === 0 ? startsSegment : s[i - 1] === '/')) return true;
    return false;
  }
  if (glob[0] === '*') {
    for (let i = 0; i <= s.length; i++) {
      if (i > 0 && s[i - 1] === '/') break;
      if (refMatch(glob.slice(1), s.slice(i), i === 0 ? startsSegment : false)) return true;
    }
    return false;
  }
  return s[0] === glob[0] && refMatch(glob.slice(1), s.slice(1), glob[0] === '/');
}

const globChars = fc.constantFrom('a', 'b', '.', '/', '*', '-', '+', '?', '(', '[', '$', '^', '|', '\\');
const textChars = fc.constantFrom('a', 'b', '.', '/', 'x', '-', '+', '?', '(', '[', '$', '^', '|', '\\', '\n');
const globArb = fc.array(globChars, { maxLength: 10 }).map((a) => a.join(''));
const textArb = fc.array(textChars, { maxLength: 12 }).map((a) => a.join(''));

describe('properties', () => {
  it('compiled globs agree with the reference semantics and are anchored', () => {
    fc.assert(
      fc.property(globArb, textArb, (glob, text) => {
        if (glob.includes('***')) {
          expect(() => compileGlob(glob)).toThrow(/not defined/);
          return;
        }
        const re = compileGlob(glob);
        expect(re.test(text)).toBe(refMatch(glob, text));
        // A table too small for the text: the automaton finishes on state sets, with the same answer.
        expect(compileGlob(glob, true, 2).test(text)).toBe(refMatch(glob, text));
        // anchoring: a literal glob never matches text with anything around it
        if (!glob.includes('*')) {
          expect(re.test(`x${glob}`)).toBe(false);
          expect(re.test(`${glob}x`)).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('`*` never matches across "/"', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,5}(\/[a-z0-9]{1,5}){1,3}$/), (name) => {
        expect(compileGlob('*').test(name)).toBe(false);
        expect(compileGlob('**').test(name)).toBe(true);
      }),
    );
  });

  const templated = parsePolicy(`
version: 1
rules:
  - id: t
    effect: allow
    issuer: ${ISS}
    grants:
      - repository: "ci/\${v}/**"
        actions: [pull]
      - repository: "exact/\${v}"
        actions: [push]
      - repository: "mix-\${v}-*/x"
        actions: [delete]
`);
  const nameArb = fc.oneof(
    fc.stringMatching(/^[a-z0-9._-]{1,6}(\/[a-z0-9._-]{1,6}){0,3}$/),
    fc.constantFrom('ci/a/b', 'ci/x/y', 'exact/a', 'mix-a-b/x', 'mix-a-b-c/x'),
  );
  const valueArb = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.stringMatching(/^[a-zA-Z0-9._*/\\-]{0,8}$/),
    fc.constantFrom('..', '.', '*', '**', 'a/b', 'A', 'a*', 'a.b', '-a', 'a--b', 'a__b'),
    fc.integer(),
    fc.double(),
    fc.boolean(),
  );

  it('no claim value can widen a templated grant', () => {
    fc.assert(
      fc.property(valueArb, fc.array(nameArb, { minLength: 1, maxLength: 4 }), (value, names) => {
        const valid = names.filter(isRepositoryName);
        if (valid.length === 0) return;
        const req: PolicyRequest = request(identity({ v: value }, ISS), valid.map((n) => `repository:${n}:pull,push,delete`));
        const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
        for (const a of templated.evaluate(req).access) {
          if (a.actions.length === 0) continue;
          // Anything granted implies the value is one valid path component used literally.
          expect(typeof text === 'string' && isPathComponent(text)).toBe(true);
          const v = text as string;
          for (const action of a.actions) {
            if (action === 'pull') expect(a.name.startsWith(`ci/${v}/`)).toBe(true);
            if (action === 'push') expect(a.name).toBe(`exact/${v}`);
            if (action === 'delete') expect(a.name.startsWith(`mix-${v}-`) && a.name.endsWith('/x') && a.name.split('/').length === 2).toBe(true);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('the per-issuer claim index never changes a decision', () => {
    const ruleArb = fc.record({
      effect: fc.constantFrom('allow', 'deny'),
      pin: fc.option(fc.oneof(fc.constantFrom('1', '2', '3'), fc.constantFrom(1, 2, 3)), { nil: undefined }),
      pinMany: fc.boolean(),
      repo: fc.constantFrom('a/**', 'a/x', 'b/*', '**'),
      actions: fc.subarray(['pull', 'push', 'delete', '*'], { minLength: 1 }),
    });
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 8, maxLength: 30 }), fc.constantFrom('1', '2', '3', 1, 2, 3, undefined), (specs, owner) => {
        const rules = specs.map((s, i) => ({
          id: `r${i}`,
          effect: s.effect,
          issuer: ISS,
          ...(s.pin === undefined ? {} : { when: { owner: s.pinMany ? { oneOf: [s.pin, '9'] } : s.pin } }),
          grants: [{ repository: s.repo, actions: s.actions }],
        }));
        const policy = compilePolicy({ version: 1, rules });
        const req = request(identity(owner === undefined ? {} : { owner }, ISS), ['repository:a/x:*', 'repository:b/y:pull,push', 'repository:c:delete']);
        expect(policy.evaluate(req)).toEqual(policy.explain(req).decision);
      }),
      { numRuns: 500 },
    );
  });
});
