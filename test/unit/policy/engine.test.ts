import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError, type CompiledPolicy } from '../../../src/policy/index.js';
import { GHA, identity, request } from './helpers.js';

const POLICY = `
version: 1
rules:
  - id: gha-build-push
    effect: allow
    issuer: ${GHA}
    when:
      repository_owner_id: "65"
      ref: { glob: "refs/heads/*" }
      event_name: { oneOf: [push, workflow_dispatch] }
    grants:
      - repository: "ci/\${repository_owner_id}/\${repository_id}/**"
        actions: [pull, push]
      - registry: catalog
    tokenLifetime: 300
  - id: team-glob
    effect: allow
    issuer: ${GHA}
    when: { repository_owner_id: "65" }
    grants:
      - repository: "team/*"
        actions: [pull]
      - repository: "deep/**"
        actions: ["*"]
    tokenLifetime: 600
  - id: no-delete-deep
    effect: deny
    issuer: ${GHA}
    when: { repository_owner_id: "65" }
    grants:
      - repository: "deep/locked/**"
        actions: [delete]
  - id: freeze
    effect: deny
    issuer: ${GHA}
    when: { ref: refs/heads/frozen }
    grants:
      - repository: "**"
        actions: ["*"]
  - id: public-read
    effect: allow
    anonymous: true
    grants:
      - repository: "public/**"
        actions: [pull]
`;

const claims = {
  repository_owner_id: '65',
  repository_id: '74',
  ref: 'refs/heads/main',
  event_name: 'push',
};

function policy(): CompiledPolicy {
  return parsePolicy(POLICY);
}

describe('policy evaluation', () => {
  it('grants templated repositories with the intersection of requested and granted actions', () => {
    const d = policy().evaluate(request(identity(claims), ['repository:ci/65/74/app:pull,push,delete']));
    expect(d.access).toEqual([{ type: 'repository', name: 'ci/65/74/app', actions: ['pull', 'push'] }]);
    expect(d.matchedRules).toEqual(['gha-build-push']);
    expect(d.tokenLifetime).toBe(300);
  });

  it('does not grant another owner’s or repository’s path', () => {
    const d = policy().evaluate(request(identity(claims), ['repository:ci/65/75/app:pull', 'repository:ci/66/74/app:pull']));
    expect(d.access.map((a) => a.actions)).toEqual([[], []]);
    expect(d.matchedRules).toEqual([]);
  });

  it('requires every condition (bare value = equals, glob, oneOf)', () => {
    const p = policy();
    const scope = ['repository:ci/65/74/app:pull'];
    expect(p.evaluate(request(identity({ ...claims, event_name: 'pull_request' }), scope)).access[0]?.actions).toEqual([]);
    expect(p.evaluate(request(identity({ ...claims, ref: 'refs/tags/v1' }), scope)).access[0]?.actions).toEqual([]);
    expect(p.evaluate(request(identity({ ...claims, ref: 'refs/heads/a/b' }), scope)).access[0]?.actions).toEqual([]);
    expect(p.evaluate(request(identity({ ...claims, repository_owner_id: 65 }), scope)).access[0]?.actions).toEqual([]);
    expect(p.evaluate(request(identity({ ...claims, event_name: 'workflow_dispatch' }), scope)).access[0]?.actions).toEqual(['pull']);
  });

  it('matches only rules of the identity’s issuer', () => {
    const d = policy().evaluate(request(identity(claims, 'https://gitlab.com'), ['repository:ci/65/74/app:pull']));
    expect(d.access[0]?.actions).toEqual([]);
  });

  it('`*` does not cross "/", `**` does', () => {
    const p = policy();
    const id = identity(claims);
    const d = p.evaluate(request(id, ['repository:team/a:pull', 'repository:team/a/b:pull', 'repository:deep/a/b/c:pull', 'repository:deep:pull']));
    expect(d.access.map((a) => a.actions)).toEqual([['pull'], [], ['pull'], []]);
  });

  it('partial grants: each resource gets only what it is allowed', () => {
    const d = policy().evaluate(request(identity(claims), ['repository:team/a:pull,push', 'repository:ci/65/74/x:push', 'repository:other:pull']));
    expect(d.access).toEqual([
      { type: 'repository', name: 'team/a', actions: ['pull'] },
      { type: 'repository', name: 'ci/65/74/x', actions: ['push'] },
      { type: 'repository', name: 'other', actions: [] },
    ]);
    expect(d.matchedRules).toEqual(['gha-build-push', 'team-glob']);
    expect(d.tokenLifetime).toBe(300);
  });

  it('`*` requests: all rights → ["*"], explicit rights → the explicit set', () => {
    const p = policy();
    const id = identity(claims);
    expect(p.evaluate(request(id, ['repository:deep/x:*'])).access[0]?.actions).toEqual(['*']);
    expect(p.evaluate(request(id, ['repository:ci/65/74/a:*'])).access[0]?.actions).toEqual(['pull', 'push']);
    expect(p.evaluate(request(id, ['repository:deep/x:pull,delete'])).access[0]?.actions).toEqual(['pull', 'delete']);
  });

  it('deny wins per action; a deny carves an action out of `*`', () => {
    const p = policy();
    const id = identity(claims);
    const d = p.evaluate(request(id, ['repository:deep/locked/a:*']));
    expect(d.access[0]?.actions).toEqual(['pull', 'push']);
    expect(d.matchedRules).toEqual(['team-glob', 'no-delete-deep']);
    expect(p.evaluate(request(id, ['repository:deep/locked/a:delete,pull'])).access[0]?.actions).toEqual(['pull']);
  });

  it('a deny of `*` removes everything, including the catalog', () => {
    const id = identity({ ...claims, ref: 'refs/heads/frozen' });
    const d = policy().evaluate(request(id, ['repository:team/a:pull', 'repository:deep/a:*']));
    expect(d.access.map((a) => a.actions)).toEqual([[], []]);
    expect(d.matchedRules).toEqual(['freeze']);
    expect(d.tokenLifetime).toBeUndefined();
  });

  it('the catalog needs the literal `*` and a catalog grant', () => {
    const p = policy();
    const id = identity(claims);
    expect(p.evaluate(request(id, ['registry:catalog:*'])).access).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    const other = identity({ ...claims, ref: 'refs/tags/x' }); // gha-build-push does not match
    expect(p.evaluate(request(other, ['registry:catalog:*'])).access[0]?.actions).toEqual([]);
  });

  it('default deny: no matching rule grants nothing', () => {
    const d = policy().evaluate(request(identity({ repository_owner_id: '1' }), ['repository:team/a:pull']));
    expect(d).toEqual({ access: [{ type: 'repository', name: 'team/a', actions: [] }], matchedRules: [], applyingRules: [] });
  });

  it('anonymous requests match only anonymous rules; identities never match them', () => {
    const p = policy();
    expect(p.evaluate(request(null, ['repository:public/x:pull,push'])).access[0]?.actions).toEqual(['pull']);
    expect(p.evaluate(request(null, ['repository:team/a:pull'])).access[0]?.actions).toEqual([]);
    expect(p.evaluate(request(identity(claims), ['repository:public/x:pull'])).access[0]?.actions).toEqual([]);
  });

  it('merges repeated scopes of one resource', () => {
    const d = policy().evaluate(request(identity(claims), ['repository:ci/65/74/a:pull', 'repository:ci/65/74/a:push']));
    expect(d.access).toEqual([{ type: 'repository', name: 'ci/65/74/a', actions: ['pull', 'push'] }]);
  });

  it('has a stable version hash', () => {
    expect(policy().version).toMatch(/^[0-9a-f]{16}$/);
    expect(policy().version).toBe(policy().version);
    expect(parsePolicy(POLICY.replace('600', '601')).version).not.toBe(policy().version);
  });
});

describe('templates never widen a grant', () => {
  const p = parsePolicy(`
version: 1
rules:
  - id: t
    effect: allow
    issuer: ${GHA}
    grants:
      - repository: "ci/\${repository}/**"
        actions: [pull, push]
      - repository: "exact/\${repository}"
        actions: [pull]
`);
  const bad = ['a/b', '..', 'UPPER', 'x*', '*', '**', '', 'a b', '.hidden', 'a..b', '-x', 'a/../b'];
  for (const value of bad) {
    it(`claim value ${JSON.stringify(value)} makes the grant not apply`, () => {
      const scopes = ['repository:ci/a/b/c:pull', 'repository:ci/x/y:pull', 'repository:ci/xa/y:pull', 'repository:exact/a/b:pull', 'repository:exact/x:pull'];
      const d = p.evaluate(request(identity({ repository: value }), scopes));
      expect(d.access.every((a) => a.actions.length === 0)).toBe(true);
    });
  }

  it('a dot in a value is literal, not a regex wildcard', () => {
    const d = p.evaluate(request(identity({ repository: 'a.b' }), ['repository:ci/a.b/x:pull', 'repository:ci/axb/x:pull']));
    expect(d.access.map((a) => a.actions)).toEqual([['pull'], []]);
  });

  it('a non-string claim (object, boolean, negative or fractional number) does not apply; an integer id does', () => {
    for (const value of [{ a: 1 }, true, -1, 1.5, ['a']]) {
      expect(p.evaluate(request(identity({ repository: value }), ['repository:exact/1:pull'])).access[0]?.actions).toEqual([]);
    }
    expect(p.evaluate(request(identity({ repository: 1 }), ['repository:exact/1:pull'])).access[0]?.actions).toEqual(['pull']);
  });

  it('a missing claim makes the grant not apply', () => {
    expect(p.evaluate(request(identity({}), ['repository:ci/x/y:pull'])).access[0]?.actions).toEqual([]);
  });
});

describe('policy validation', () => {
  function errorOf(text: string): PolicyError {
    try {
      parsePolicy(text);
    } catch (err) {
      if (err instanceof PolicyError) return err;
      throw err;
    }
    throw new Error('expected a PolicyError');
  }
  const rule = (body: string): string => `version: 1\nrules:\n  - id: r\n    effect: allow\n    issuer: ${GHA}\n${body}`;

  it('names the key path of a bad action', () => {
    const e = errorOf(rule('    grants:\n      - repository: a\n        actions: [pull, pusj]\n'));
    expect(e.issues).toContainEqual({ path: 'rules[0].grants[0].actions[1]', message: 'expected one of pull, push, delete, *' });
    expect(e.message).toContain('rules[0].grants[0].actions[1]: expected one of pull, push, delete, *');
  });

  it('rejects unknown keys (typos)', () => {
    const e = errorOf(rule('    efect: deny\n    grants: [{ registry: catalog }]\n'));
    expect(e.issues.some((i) => i.path === 'rules[0]' && i.message.includes('efect'))).toBe(true);
  });

  it('reports errors inside conditions at their path', () => {
    const e = errorOf(rule('    when:\n      ref: { glob: "a", bogus: 1 }\n    grants: [{ registry: catalog }]\n'));
    expect(e.issues[0]?.path).toBe('rules[0].when.ref');
    expect(e.issues[0]?.message).toContain('bogus');
  });

  it('rejects a rule without an issuer, duplicate ids, a grant with both kinds, and bad patterns', () => {
    expect(errorOf('version: 1\nrules:\n  - id: r\n    effect: allow\n    grants: [{ registry: catalog }]\n').issues[0]?.message).toContain('issuer');
    const dup = errorOf(rule('    grants: [{ registry: catalog }]\n  - id: r\n    effect: allow\n    anonymous: true\n    grants: [{ registry: catalog }]\n'));
    expect(dup.issues).toContainEqual({ path: 'rules[1].id', message: 'duplicate rule id "r"' });
    expect(errorOf(rule('    grants: [{ registry: catalog, repository: a, actions: [pull] }]\n')).issues[0]?.path).toBe('rules[0].grants[0]');
    expect(errorOf(rule('    grants: [{ repository: "Team/*", actions: [pull] }]\n')).issues[0]?.path).toBe('rules[0].grants[0].repository');
    expect(errorOf(rule('    grants: [{ repository: "a/$x", actions: [pull] }]\n')).issues[0]?.message).toContain('placeholder');
  });

  it('rejects issuers that are not URLs and unknown aliases', () => {
    expect(errorOf(`version: 1\nrules:\n  - id: r\n    effect: allow\n    issuer: not-a-url\n    grants: [{ registry: catalog }]\n`).issues[0]?.path).toBe('rules[0].issuer');
    expect(errorOf(`version: 1\nrules:\n  - id: r\n    effect: allow\n    issuer: $nope\n    grants: [{ registry: catalog }]\n`).issues[0]?.message).toContain('alias');
  });

  it('reports YAML syntax errors', () => {
    expect(() => parsePolicy('version: 1\nrules: [\n')).toThrow(PolicyError);
  });

  it('resolves issuer aliases at compile time', () => {
    const text = 'version: 1\nrules:\n  - id: dev\n    effect: allow\n    issuer: $dev\n    grants: [{ repository: "dev/**", actions: [pull] }]\n';
    const p = parsePolicy(text, { issuerAliases: { dev: 'http://127.0.0.1:5001/dev' } });
    const id = identity({}, 'http://127.0.0.1:5001/dev');
    expect(p.evaluate(request(id, ['repository:dev/a:pull'])).access[0]?.actions).toEqual(['pull']);
    expect(p.evaluate(request(identity({}, '$dev'), ['repository:dev/a:pull'])).access[0]?.actions).toEqual([]);
  });
});

describe('per-issuer claim index', () => {
  const rules = Array.from({ length: 12 }, (_, i) => ({
    id: `tenant-${i}`,
    effect: 'allow',
    issuer: GHA,
    when: { repository_owner_id: String(i) },
    grants: [{ repository: `t${i}/**`, actions: ['pull'] }],
  }));
  rules.push({ id: 'everyone', effect: 'allow', issuer: GHA, when: { ref: 'refs/heads/main' } as never, grants: [{ repository: 'shared/**', actions: ['pull'] }] });

  it('indexes rules that pin the same claim and keeps unpinned rules as candidates', async () => {
    const { compilePolicy } = await import('../../../src/policy/index.js');
    const p = compilePolicy({ version: 1, rules });
    const entry = p.byIssuer.get(GHA);
    expect(entry?.index?.path).toEqual(['repository_owner_id']);
    expect(entry?.index?.rest.all.map((r) => r.id)).toEqual(['everyone']);
    const d = p.evaluate(request(identity({ repository_owner_id: '3', ref: 'refs/heads/main' }), ['repository:t3/a:pull', 'repository:t4/a:pull', 'repository:shared/a:pull']));
    expect(d.access.map((a) => a.actions)).toEqual([['pull'], [], ['pull']]);
    expect(d.matchedRules).toEqual(['tenant-3', 'everyone']);
    // type-aware: the number 3 is not the string "3"
    expect(p.evaluate(request(identity({ repository_owner_id: 3 }), ['repository:t3/a:pull'])).access[0]?.actions).toEqual([]);
  });
});

describe('refreshLifetime', () => {
  const doc = (extra: string) => `
version: 1
rules:
  - id: long
    effect: allow
    issuer: ${GHA}
    grants: [{ repository: "a/**", actions: [pull] }]
    refreshLifetime: 7200
  - id: short
    effect: allow
    issuer: ${GHA}
    when: { environment: production }
    grants: [{ repository: "a/prod/**", actions: [push] }]
    refreshLifetime: 900
${extra}`;

  it('is the smallest cap among the allow rules whose conditions hold, with or without a scope (docker login asks for none)', () => {
    const p = parsePolicy(doc(''));
    expect(p.evaluate(request(identity({}), ['repository:a/x:pull'])).refreshLifetime).toBe(7200);
    expect(p.evaluate(request(identity({ environment: 'production' }), ['repository:a/prod/x:pull,push'])).refreshLifetime).toBe(900);
    const login = p.evaluate(request(identity({ environment: 'production' }), []));
    expect(login.refreshLifetime).toBe(900);
    expect(login.applyingRules).toEqual(['long', 'short']);
    expect(login.matchedRules).toEqual([]);
    expect(p.evaluate(request(identity({}, 'https://other.example'), [])).refreshLifetime).toBeUndefined();
  });

  it('is refused on deny rules', () => {
    expect(() => parsePolicy(doc(`  - id: d\n    effect: deny\n    issuer: ${GHA}\n    grants: [{ repository: "a/**", actions: [push] }]\n    refreshLifetime: 60\n`))).toThrow(PolicyError);
  });
});
