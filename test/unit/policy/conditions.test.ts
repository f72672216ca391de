import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from '../../../src/policy/index.js';
import { parseClaimPath } from '../../../src/policy/engine/claim-path.js';
import { GHA, identity, request } from './helpers.js';

/** A one-rule policy granting pull on "x" when `conditions` (YAML of the rule body) hold. */
function allows(ruleBody: string, claims: Record<string, unknown>, extra: { service?: string; clientIp?: string } = {}): boolean {
  const p = parsePolicy(`version: 1\nrules:\n  - id: r\n    effect: allow\n    issuer: ${GHA}\n${ruleBody}\n    grants: [{ repository: x, actions: [pull] }]\n`);
  const d = p.evaluate(request(identity(claims), ['repository:x:pull'], extra));
  return d.access[0]?.actions.length === 1;
}
const when = (yaml: string): string => `    when:\n${yaml
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}`;

describe('conditions', () => {
  it('compares types strictly: "65" is not 65 unless asString', () => {
    expect(allows(when('owner: "65"'), { owner: '65' })).toBe(true);
    expect(allows(when('owner: "65"'), { owner: 65 })).toBe(false);
    expect(allows(when('runner_id: 1'), { runner_id: 1 })).toBe(true);
    expect(allows(when('runner_id: 1'), { runner_id: '1' })).toBe(false);
    expect(allows(when('flag: true'), { flag: 'true' })).toBe(false);
    expect(allows(when('flag: true'), { flag: true })).toBe(true);
    expect(allows(when('runner_id: { equals: "1", asString: true }'), { runner_id: 1 })).toBe(true);
    expect(allows(when('runner_id: { oneOf: [1, 2], asString: true }'), { runner_id: '2' })).toBe(true);
    expect(allows(when('runner_id: { oneOf: [1, 2] }'), { runner_id: '2' })).toBe(false);
  });

  it('glob on claims: anchored, `*` stops at "/", metacharacters literal', () => {
    expect(allows(when('ref: { glob: "refs/heads/*" }'), { ref: 'refs/heads/main' })).toBe(true);
    expect(allows(when('ref: { glob: "refs/heads/*" }'), { ref: 'refs/heads/a/b' })).toBe(false);
    expect(allows(when('ref: { glob: "refs/heads/**" }'), { ref: 'refs/heads/a/b' })).toBe(true);
    expect(allows(when('ref: { glob: "refs/heads/*" }'), { ref: 'x/refs/heads/main' })).toBe(false);
    expect(allows(when('aud: { glob: "https://*.example.com" }'), { aud: 'https://a.example.com' })).toBe(true);
    expect(allows(when('aud: { glob: "https://*.example.com" }'), { aud: 'https://evil.attacker-example.com' })).toBe(false);
    expect(allows(when('aud: { glob: "https://*.example.com" }'), { aud: 'https://aXexample.com' })).toBe(false);
    expect(allows(when('n: { glob: "1*" }'), { n: 12 })).toBe(false);
  });

  it('regex is anchored, runs on RE2 (no backtracking) and refuses long or invalid patterns', () => {
    expect(allows(when('ref: { regex: "refs/heads/(main|release-[0-9]+)" }'), { ref: 'refs/heads/release-12' })).toBe(true);
    expect(allows(when('ref: { regex: "main" }'), { ref: 'refs/heads/main' })).toBe(false);
    expect(allows(when('ref: { regex: "a|b" }'), { ref: 'ab' })).toBe(false);
    // Nested quantifiers are harmless on a linear-time engine: accepted, and the classic attack input
    // (which a backtracking engine takes minutes over) answers at once.
    expect(allows(when('ref: { regex: "(\\\\w|\\\\d)*x" }'), { ref: '1'.repeat(40) })).toBe(false);
    expect(allows(when('ref: { regex: "(a+)+" }'), { ref: 'aaaa' })).toBe(true);
    // RE2 syntax: back-references and look-around are refused, not silently different.
    expect(() => allows(when('ref: { regex: "(a)\\\\1" }'), {})).toThrow(/invalid regex/);
    expect(() => allows(when('ref: { regex: "a(?=b)" }'), {})).toThrow(/invalid regex/);
    expect(() => allows(when(`ref: { regex: "${'a'.repeat(257)}" }`), {})).toThrow(/longer than 256/);
    expect(() => allows(when('ref: { regex: "(" }'), {})).toThrow(/invalid regex/);
  });

  it('a missing claim fails every operator except exists: false; not requires presence', () => {
    expect(allows(when('env: { not: { equals: dev } }'), {})).toBe(false);
    expect(allows(when('env: { not: { equals: dev } }'), { env: 'prod' })).toBe(true);
    expect(allows(when('env: { not: { equals: dev } }'), { env: 'dev' })).toBe(false);
    expect(allows(when('env: { exists: false }'), {})).toBe(true);
    expect(allows(when('env: { exists: false }'), { env: 'x' })).toBe(false);
    expect(allows(when('env: { exists: true }'), { env: 'x' })).toBe(true);
  });

  it('array claims with any/all; all of an empty array is false; arrays never equal a scalar', () => {
    const groups = { groups_direct: ['org', 'org/sub'] };
    expect(allows(when('groups_direct: { any: { glob: "org/*" } }'), groups)).toBe(true);
    expect(allows(when('groups_direct: { all: { glob: "org/*" } }'), groups)).toBe(false);
    expect(allows(when('groups_direct: { all: { glob: "org**" } }'), groups)).toBe(true);
    expect(allows(when('groups_direct: { all: { glob: "org**" } }'), { groups_direct: [] })).toBe(false);
    expect(allows(when('groups_direct: { any: org }'), { groups_direct: 'org' })).toBe(false);
    expect(allows(when('groups_direct: org'), groups)).toBe(false);
  });

  it('several operators in one object must all hold', () => {
    const c = when('ref: { glob: "refs/heads/*", not: { equals: refs/heads/wip } }');
    expect(allows(c, { ref: 'refs/heads/main' })).toBe(true);
    expect(allows(c, { ref: 'refs/heads/wip' })).toBe(false);
  });

  it('nested claim paths: escaped string paths and list paths; names with dots and slashes', () => {
    const k8s = { 'kubernetes.io': { namespace: 'prod', serviceaccount: { name: 'builder' } } };
    expect(allows(when('kubernetes\\.io.namespace: prod'), k8s)).toBe(true);
    expect(allows(when('kubernetes\\.io.serviceaccount.name: builder'), k8s)).toBe(true);
    expect(allows(when('kubernetes.io.namespace: prod'), k8s)).toBe(false);
    expect(allows('    when:\n      - claim: ["kubernetes.io", "namespace"]\n        equals: prod', k8s)).toBe(true);
    const circle = { 'oidc.circleci.com/project-id': 'abc' };
    expect(allows(when('oidc\\.circleci\\.com/project-id: abc'), circle)).toBe(true);
    expect(allows('    when:\n      - claim: ["oidc.circleci.com/project-id"]\n        oneOf: [abc]', circle)).toBe(true);
  });

  it('never reads inherited properties', () => {
    expect(allows(when('- { claim: [constructor], exists: true }'), {})).toBe(false);
    expect(allows(when('a.toString: { exists: true }'), { a: {} })).toBe(false);
  });

  it('parses claim paths', () => {
    expect(parseClaimPath('a.b')).toEqual(['a', 'b']);
    expect(parseClaimPath('a\\.b.c')).toEqual(['a.b', 'c']);
    expect(parseClaimPath('a\\\\.b')).toEqual(['a\\', 'b']);
    expect(parseClaimPath(['a.b', 'c/d'])).toEqual(['a.b', 'c/d']);
    expect(() => parseClaimPath('a..b')).toThrow();
    expect(() => parseClaimPath('a\\b')).toThrow();
    expect(parseClaimPath('oidc\\.circleci\\.com/project-id')).toEqual(['oidc.circleci.com/project-id']);
    expect(parseClaimPath('a\\.')).toEqual(['a.']);
    expect(parseClaimPath('a\\\\')).toEqual(['a\\']);
    expect(parseClaimPath('\\..x')).toEqual(['.', 'x']);
    for (const bad of ['', '.a', 'a.', 'a\\', 'a.\\']) expect(() => parseClaimPath(bad), bad).toThrow();
  });
});

describe('request context', () => {
  it('service must be one of the listed', () => {
    expect(allows('    service: [registry.test, other]', {})).toBe(true);
    expect(allows('    service: prod-registry', {})).toBe(false);
  });

  it('clientIp must fall in a CIDR; mapped IPv6 counts as IPv4; no IP fails', () => {
    const rule = '    clientIp: ["10.0.0.0/8", "2001:db8::/32", "192.168.1.7"]';
    expect(allows(rule, {}, { clientIp: '10.1.2.3' })).toBe(true);
    expect(allows(rule, {}, { clientIp: '::ffff:10.1.2.3' })).toBe(true);
    expect(allows(rule, {}, { clientIp: '2001:db8::1' })).toBe(true);
    expect(allows(rule, {}, { clientIp: '192.168.1.7' })).toBe(true);
    expect(allows(rule, {}, { clientIp: '192.168.1.8' })).toBe(false);
    expect(allows(rule, {}, { clientIp: '11.0.0.1' })).toBe(false);
    expect(allows(rule, {}, { clientIp: 'garbage' })).toBe(false);
    expect(allows(rule, {})).toBe(false);
    expect(() => allows('    clientIp: 10.0.0.0/33', {})).toThrow(PolicyError);
  });
});

describe('CEL conditions', () => {
  it('evaluates against claims and request context', () => {
    const c = `    cel: 'claims.repository_owner_id == "65" && claims.runner_id == 1 && service == "registry.test"'`;
    expect(allows(c, { repository_owner_id: '65', runner_id: 1 })).toBe(true);
    expect(allows(c, { repository_owner_id: '66', runner_id: 1 })).toBe(false);
  });

  it('is false on evaluation errors (missing keys) and non-true results', () => {
    expect(allows(`    cel: '"org" in claims.groups'`, {})).toBe(false);
    expect(allows(`    cel: '"org" in claims.groups'`, { groups: ['org'] })).toBe(true);
    expect(allows(`    cel: 'claims["kubernetes.io"].namespace == "prod"'`, { 'kubernetes.io': { namespace: 'prod' } })).toBe(true);
  });

  it('refuses syntax errors, non-bool results, unknown variables, big or nested-comprehension expressions', () => {
    expect(() => allows(`    cel: 'claims.a =='`, {})).toThrow(/CEL/);
    expect(() => allows(`    cel: '1 + 2'`, {})).toThrow(/bool/);
    expect(() => allows(`    cel: 'nope == 1'`, {})).toThrow(/Unknown variable/);
    expect(() => allows(`    cel: 'claims.x.all(a, claims.x.exists(b, a == b))'`, {})).toThrow(/nested/);
    const big = Array.from({ length: 100 }, (_, i) => `claims.a == "${i}"`).join(' || ');
    expect(() => allows(`    cel: '${big}'`, {})).toThrow(/CEL/);
  });
});
