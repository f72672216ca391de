import { describe, expect, it } from 'vitest';
import { builtinPresets, parsePolicy, PolicyError } from '../../../src/policy/index.js';
import { GHA, identity, request } from './helpers.js';

describe('provider presets', () => {
  it('ships the six presets, with canonical claim names', () => {
    const presets = builtinPresets();
    expect([...presets.keys()].sort()).toEqual(['buildkite', 'circleci', 'github-actions', 'gitlab', 'google', 'kubernetes']);
    expect(presets.get('circleci')?.claims['oidc\\.circleci\\.com/project-id']?.kind).toBe('id');
    expect(presets.get('kubernetes')?.claims['kubernetes\\.io.namespace']?.type).toBe('string');
    expect(presets.get('gitlab')?.claims.runner_id?.type).toBe('number');
  });

  const gha = parsePolicy(`
version: 1
rules:
  - id: build
    effect: allow
    provider: github-actions
    when: { repository_owner_id: "65" }
    grants: [{ repository: "acme/**", actions: ["*"] }, { registry: catalog }]
  - id: pr-opt-in
    effect: allow
    provider: github-actions
    allowUntrustedEvents: true
    when: { repository_owner_id: "65", repository_id: "99" }
    grants: [{ repository: "previews/**", actions: [pull, push] }]
`);

  it('takes the issuer from the preset', () => {
    const d = gha.evaluate(request(identity({ repository_owner_id: '65', event_name: 'push' }, GHA), ['repository:acme/a:pull,push']));
    expect(d.access[0]?.actions).toEqual(['pull', 'push']);
  });

  for (const event of ['pull_request', 'pull_request_target']) {
    it(`limits GitHub ${event} to pull, and drops the catalog`, () => {
      const id = identity({ repository_owner_id: '65', event_name: event });
      const d = gha.evaluate(request(id, ['repository:acme/a:pull,push,delete', 'repository:acme/b:*', 'registry:catalog:*']));
      expect(d.access.map((a) => a.actions)).toEqual([['pull'], ['pull'], []]);
    });
  }

  it('treats a token without event_name as untrusted (fail closed)', () => {
    const d = gha.evaluate(request(identity({ repository_owner_id: '65' }), ['repository:acme/a:pull,push']));
    expect(d.access[0]?.actions).toEqual(['pull']);
  });

  it('lets a rule opt in to push from pull requests', () => {
    const id = identity({ repository_owner_id: '65', repository_id: '99', event_name: 'pull_request' });
    expect(gha.evaluate(request(id, ['repository:previews/x:push'])).access[0]?.actions).toEqual(['push']);
  });

  it('limits GitLab merge-request pipelines to pull', () => {
    const p = parsePolicy(`
version: 1
rules:
  - id: gl
    effect: allow
    provider: gitlab
    when: { namespace_id: "72", ref_protected: "true" }
    grants: [{ repository: "group/**", actions: [pull, push] }]
`);
    const base = { namespace_id: '72', ref_protected: 'true' };
    const gl = (claims: Record<string, unknown>) => identity(claims, 'https://gitlab.com');
    expect(p.evaluate(request(gl({ ...base, pipeline_source: 'push' }), ['repository:group/a:push'])).access[0]?.actions).toEqual(['push']);
    expect(p.evaluate(request(gl({ ...base, pipeline_source: 'merge_request_event' }), ['repository:group/a:pull,push'])).access[0]?.actions).toEqual(['pull']);
  });

  it('a self-managed GitLab rule keeps the preset but names its issuer', () => {
    const p = parsePolicy(`
version: 1
rules:
  - id: gl
    effect: allow
    provider: gitlab
    issuer: https://gitlab.example.com
    when: { namespace_id: "7" }
    grants: [{ repository: "g/**", actions: [push] }]
`);
    const own = identity({ namespace_id: '7', pipeline_source: 'push' }, 'https://gitlab.example.com');
    expect(p.evaluate(request(own, ['repository:g/a:push'])).access[0]?.actions).toEqual(['push']);
    const saas = identity({ namespace_id: '7', pipeline_source: 'push' }, 'https://gitlab.com');
    expect(p.evaluate(request(saas, ['repository:g/a:push'])).access[0]?.actions).toEqual([]);
  });

  it('refuses unknown providers and per-tenant providers without an issuer', () => {
    const rule = (provider: string) => `version: 1\nrules:\n  - id: r\n    effect: allow\n    provider: ${provider}\n    grants: [{ registry: catalog }]\n`;
    expect(() => parsePolicy(rule('jenkins'))).toThrow(/unknown provider "jenkins"/);
    try {
      parsePolicy(rule('circleci'));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).issues[0]?.path).toBe('rules[0].issuer');
    }
  });
});
