import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGlob, compilePolicy, loadPolicyFile, parsePolicy, PolicyError, type Decision } from '../../../src/policy/index.js';
import { GHA, identity, request } from './helpers.js';

/**
 * The nine points where the engine and docs/policy.md used to disagree,
 * each pinned to the decided behaviour (docs/policy.md states every one).
 */

const ISS = 'https://issuer.example';

function decide(policyYaml: string, claims: Record<string, unknown>, scopes: string[], issuer = ISS): Decision {
  return parsePolicy(policyYaml).evaluate(request(identity(claims, issuer), scopes));
}

function policyError(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error('expected a PolicyError');
}

describe('1. a request for `*` keeps every contributing rule, and its lifetime cap', () => {
  const policy = `
version: 1
rules:
  - { id: all, effect: allow, issuer: ${ISS}, grants: [{ repository: "t/**", actions: ["*"] }], tokenLifetime: 3600 }
  - { id: short, effect: allow, issuer: ${ISS}, grants: [{ repository: "t/**", actions: [pull] }], tokenLifetime: 60 }
`;
  it('`*` answered as ["*"] lists both rules and takes the smaller cap', () => {
    const d = decide(policy, {}, ['repository:t/a:*']);
    expect(d.access).toEqual([{ type: 'repository', name: 't/a', actions: ['*'] }]);
    expect(d.matchedRules).toEqual(['all', 'short']);
    expect(d.tokenLifetime).toBe(60);
  });
  it('the same rights asked for explicitly give the same rules and cap', () => {
    const d = decide(policy, {}, ['repository:t/a:pull,push,delete']);
    expect(d.matchedRules).toEqual(['all', 'short']);
    expect(d.tokenLifetime).toBe(60);
  });
});

describe('2. `*` with every action allowed through separate grants is the explicit list', () => {
  it('separate pull, push and delete grants answer `*` with the explicit list', () => {
    const d = decide(
      `
version: 1
rules:
  - { id: a, effect: allow, issuer: ${ISS}, grants: [{ repository: "t/**", actions: [pull, push] }, { repository: "t/**", actions: [delete] }] }
`,
      {},
      ['repository:t/a:*'],
    );
    expect(d.access[0]?.actions).toEqual(['delete', 'pull', 'push']);
  });
  it('a literal `*` grant with a deny of one action answers the explicit rest', () => {
    const d = decide(
      `
version: 1
rules:
  - { id: a, effect: allow, issuer: ${ISS}, grants: [{ repository: "t/**", actions: ["*"] }] }
  - { id: d, effect: deny, issuer: ${ISS}, grants: [{ repository: "t/**", actions: [delete] }] }
`,
      {},
      ['repository:t/a:*'],
    );
    expect(d.access[0]?.actions).toEqual(['pull', 'push']);
    expect(d.matchedRules).toEqual(['a', 'd']);
  });
});

describe('3. the catalog only ever gets `*`', () => {
  const policy = `
version: 1
rules:
  - { id: cat, effect: allow, issuer: ${ISS}, grants: [{ registry: catalog }], tokenLifetime: 30 }
  - { id: repo, effect: allow, issuer: ${ISS}, grants: [{ repository: "t/**", actions: [pull] }] }
`;
  it('pull,push on the catalog get nothing, and the catalog rule neither matches nor caps', () => {
    const d = decide(policy, {}, ['registry:catalog:pull,push', 'repository:t/a:pull']);
    expect(d.access).toEqual([
      { type: 'registry', name: 'catalog', actions: [] },
      { type: 'repository', name: 't/a', actions: ['pull'] },
    ]);
    expect(d.matchedRules).toEqual(['repo']);
    expect(d.tokenLifetime).toBeUndefined();
  });
  it('`*` on the catalog is granted (and only `*` of a mixed request)', () => {
    const d = decide(policy, {}, ['registry:catalog:pull,*']);
    expect(d.access[0]?.actions).toEqual(['*']);
    expect(d.tokenLifetime).toBe(30);
  });
});

describe('4. unknown actions are never granted', () => {
  const policy = `
version: 1
rules:
  - { id: all, effect: allow, issuer: ${ISS}, grants: [{ repository: "t/**", actions: ["*"] }] }
`;
  it('an allow of `*` passes pull but not foo', () => {
    expect(decide(policy, {}, ['repository:t/a:pull,foo']).access[0]?.actions).toEqual(['pull']);
    const only = decide(policy, {}, ['repository:t/a:foo']);
    expect(only.access[0]?.actions).toEqual([]);
    expect(only.matchedRules).toEqual([]);
  });
});

describe('5. `**/` stands for zero or more whole, non-empty segments', () => {
  it('in globs', () => {
    const g = compileGlob('**/main');
    expect(g.test('main')).toBe(true);
    expect(g.test('a/b/main')).toBe(true);
    expect(g.test('/main')).toBe(false);
    expect(g.test('a//main')).toBe(false);
    const mid = compileGlob('team/**/cache');
    expect(mid.test('team/cache')).toBe(true);
    expect(mid.test('team/a/b/cache')).toBe(true);
    expect(mid.test('team//cache')).toBe(false);
  });
  it('in glob conditions on claims', () => {
    const policy = `
version: 1
rules:
  - { id: r, effect: allow, issuer: ${ISS}, when: { ref: { glob: "**/main" } }, grants: [{ repository: x, actions: [pull] }] }
`;
    expect(decide(policy, { ref: 'refs/heads/main' }, ['repository:x:pull']).access[0]?.actions).toEqual(['pull']);
    expect(decide(policy, { ref: '/main' }, ['repository:x:pull']).access[0]?.actions).toEqual([]);
  });
});

describe('6. keys that name object machinery are refused at load', () => {
  const ruleWith = (when: string): string => `
version: 1
rules:
  - id: r
    effect: allow
    issuer: ${ISS}
    when: ${when}
    grants: [{ repository: x, actions: [pull] }]
`;
  it('`__proto__` under `when` in YAML names the path', () => {
    const err = policyError(() => parsePolicy(ruleWith('{ __proto__: { equals: never }, pin: "1" }')));
    expect(err.issues).toEqual([{ path: 'rules[0].when.__proto__', message: 'the key "__proto__" is not allowed in a policy' }]);
  });
  it('in JSON documents and anywhere else (`constructor`, `prototype`)', () => {
    const doc: unknown = JSON.parse(
      `{"version":1,"rules":[{"id":"r","effect":"allow","issuer":"${ISS}","when":{"__proto__":{"equals":"never"}},"grants":[{"repository":"x","actions":["pull"],"constructor":1}]}]}`,
    );
    const err = policyError(() => compilePolicy(doc));
    expect(err.issues.map((i) => i.path)).toEqual(['rules[0].when.__proto__', 'rules[0].grants[0].constructor']);
    expect(() => parsePolicy(ruleWith('{ a: { prototype: { equals: x } } }'))).toThrow(/rules\[0\]\.when\.a\.prototype/);
  });
  it('in a policy directory, with the file named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-proto-'));
    try {
      await writeFile(join(dir, 'a.yaml'), ruleWith('{ __proto__: { equals: never } }'));
      await expect(loadPolicyFile(dir)).rejects.toThrow(/a\.yaml: rules\[0\]\.when\.__proto__/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('7. a deny placeholder that cannot bind stands for `*`', () => {
  const policy = `
version: 1
rules:
  - { id: all, effect: allow, issuer: ${ISS}, grants: [{ repository: "acme/**", actions: [pull, push] }] }
  - { id: protect, effect: deny, issuer: ${ISS}, grants: [{ repository: "acme/protected-\${actor}/**", actions: [push] }] }
`;
  const scope = ['repository:acme/protected-bob/app:push'];
  it.each([
    ['missing', {}],
    ['upper case', { actor: 'Bob' }],
    ['a slash', { actor: 'a/b' }],
    ['a number out of range', { actor: -1 }],
    ['an object', { actor: { name: 'bob' } }],
  ])('actor %s: denied as acme/protected-*/**', (_label, claims) => {
    const d = decide(policy, claims, scope);
    expect(d.access[0]?.actions).toEqual([]);
    expect(d.matchedRules).toEqual(['protect']);
  });
  it('a value that binds denies its own namespace only', () => {
    expect(decide(policy, { actor: 'bob' }, scope).access[0]?.actions).toEqual([]);
    expect(decide(policy, { actor: 'alice' }, scope).access[0]?.actions).toEqual(['push']);
  });
  it('in an allow, the pattern that cannot bind does not apply; the grant’s other patterns still do', () => {
    const allow = `
version: 1
rules:
  - { id: a, effect: allow, issuer: ${ISS}, grants: [{ repository: ["ci/\${repo}/**", "shared/**"], actions: [pull] }] }
`;
    const d = decide(allow, { repo: 'Bad' }, ['repository:ci/x/app:pull', 'repository:shared/app:pull']);
    expect(d.access.map((a) => a.actions)).toEqual([[], ['pull']]);
  });
});

describe('8. an event claim that is not a non-empty string is untrusted', () => {
  const gha = `
version: 1
rules:
  - id: ci
    effect: allow
    provider: github-actions
    when: { repository_owner_id: "65" }
    grants: [{ repository: "acme/**", actions: ["*"] }, { registry: catalog }]
`;
  const scopes = ['repository:acme/app:pull,push,delete', 'registry:catalog:*'];
  it.each([null, '', ['pull_request'], 5, true, { name: 'push' }])('event_name %j gets pull only', (event) => {
    const d = decide(gha, { repository_owner_id: '65', event_name: event }, scopes, GHA);
    expect(d.access.map((a) => a.actions)).toEqual([['pull'], []]);
  });
  it('a trusted event keeps push, delete and the catalog', () => {
    const d = decide(gha, { repository_owner_id: '65', event_name: 'push' }, scopes, GHA);
    expect(d.access.map((a) => a.actions)).toEqual([['pull', 'push', 'delete'], ['*']]);
  });
  it('GitLab pipeline_source the same way', () => {
    const gl = `
version: 1
rules:
  - { id: ci, effect: allow, provider: gitlab, when: { namespace_id: "72" }, grants: [{ repository: "g/**", actions: [pull, push] }] }
`;
    for (const source of [null, '', ['push']]) {
      expect(decide(gl, { namespace_id: '72', pipeline_source: source }, ['repository:g/a:push,pull'], 'https://gitlab.com').access[0]?.actions).toEqual(['pull']);
    }
    expect(decide(gl, { namespace_id: '72', pipeline_source: 'push' }, ['repository:g/a:push,pull'], 'https://gitlab.com').access[0]?.actions).toEqual([
      'push',
      'pull',
    ]);
  });
});

describe('9. patterns that can never match are errors', () => {
  it.each(['team//a', '/team', 'team/', 'team/***', 'team/-a', 'team/a..b', 'ci//${id}'])('%s', (pattern) => {
    const err = policyError(() =>
      parsePolicy(`
version: 1
rules:
  - { id: r, effect: allow, issuer: ${ISS}, grants: [{ repository: ${JSON.stringify(pattern)}, actions: [pull] }] }
`),
    );
    expect(err.issues[0]?.path).toBe('rules[0].grants[0].repository');
    expect(err.issues[0]?.message).toMatch(/can never match a repository/);
  });
  it('`***` is refused in glob conditions too', () => {
    expect(() =>
      parsePolicy(`
version: 1
rules:
  - { id: r, effect: allow, issuer: ${ISS}, when: { ref: { glob: "refs/***" } }, grants: [{ repository: x, actions: [pull] }] }
`),
    ).toThrow(/rules\[0\]\.when\.ref\.glob: .*"\*\*\*" is not defined/);
  });
  it('patterns that can match still load', () => {
    expect(() =>
      parsePolicy(`
version: 1
rules:
  - { id: r, effect: allow, issuer: ${ISS}, grants: [{ repository: ["team/**", "a-*/b", "ci/\${id}/**", "x.y/z_w"], actions: [pull] }] }
`),
    ).not.toThrow();
  });
});
