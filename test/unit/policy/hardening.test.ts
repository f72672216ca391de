import { describe, expect, it } from 'vitest';
import { builtinPresets, compileGlob, compilePolicy, lintPolicy, parsePolicy, parsePreset, type LintResult, type ProviderPreset } from '../../../src/policy/index.js';
import { GHA, identity, request } from './helpers.js';

/** Security hardening of the policy engine: deny templates, linear-time matching, preset inference, placeholder lint. */

const codes = (r: LintResult): { errors: string[]; warnings: string[] } => ({
  errors: r.errors.map((f) => `${f.code}@${f.path}`),
  warnings: r.warnings.map((f) => `${f.code}@${f.path}`),
});

describe('a templated deny cannot be escaped', () => {
  const policy = parsePolicy(`
version: 1
rules:
  - id: acme
    effect: allow
    provider: github-actions
    when: { repository_owner_id: "65" }
    grants: [{ repository: "acme/**", actions: [pull, push] }]
  - id: protected
    effect: deny
    provider: github-actions
    when: { repository_owner_id: "65" }
    grants: [{ repository: "acme/protected-\${actor}/**", actions: [push] }]
`);
  const push = (claims: Record<string, unknown>): string[] =>
    policy.evaluate(request(identity({ repository_owner_id: '65', event_name: 'push', ...claims }), ['repository:acme/protected-bob/app:push'])).access[0]
      ?.actions as string[];
  it('actor bob, Bob or missing: push refused', () => {
    expect(push({ actor: 'bob' })).toEqual([]);
    expect(push({ actor: 'Bob' })).toEqual([]);
    expect(push({})).toEqual([]);
  });
  it('lint warns on a deny template over a mutable claim, not over an id', () => {
    expect(codes(lintPolicy(policy)).warnings).toContain('deny-template-mutable@rules[1].grants[0].repository');
    const byId = parsePolicy(`
version: 1
rules:
  - id: protected
    effect: deny
    provider: github-actions
    when: { repository_owner_id: "65" }
    grants: [{ repository: "acme/protected-\${actor_id}/**", actions: [push] }]
`);
    expect(codes(lintPolicy(byId)).warnings).not.toContain('deny-template-mutable@rules[0].grants[0].repository');
  });
});

describe('linear-time matching (worst cases from the review)', () => {
  it('a glob with many `**/` answers on a long non-matching name', () => {
    const g = compileGlob('a/**/**/**/**/**/**/z');
    expect(g.test(`a/${'b/'.repeat(60)}y`)).toBe(false);
    expect(g.test(`a/${'b/'.repeat(60)}z`)).toBe(true);
    const interleaved = compileGlob('a/**/b/**/b/**/b/**/b/**/z');
    expect(interleaved.test(`a/${'b/'.repeat(120)}y`)).toBe(false);
  });

  it('a repository pattern with many `**/` answers on a long name', () => {
    const policy = parsePolicy(`
version: 1
rules:
  - { id: r, effect: allow, issuer: https://i.example, grants: [{ repository: "a/**/**/**/**/**/**/z", actions: [pull] }] }
`);
    const name = `a/${'b/'.repeat(60)}y`;
    expect(policy.evaluate(request(identity({}, 'https://i.example'), [`repository:${name}:pull`])).access[0]?.actions).toEqual([]);
  });

  it('CEL matches() runs on RE2: the attack input answers, back-references are refused at load', () => {
    const rule = (cel: string): string => `
version: 1
rules:
  - { id: r, effect: allow, issuer: https://i.example, cel: ${JSON.stringify(cel)}, grants: [{ repository: x, actions: [pull] }] }
`;
    const policy = parsePolicy(rule('claims.ref.matches("(\\\\w|\\\\d)*x")'));
    const pulls = (ref: string): string[] => policy.evaluate(request(identity({ ref }, 'https://i.example'), ['repository:x:pull'])).access[0]?.actions as string[];
    expect(pulls('1'.repeat(40))).toEqual([]);
    expect(pulls('12x')).toEqual(['pull']);
    expect(() => parsePolicy(rule('claims.ref.matches("(a)\\\\1")'))).toThrow(/RE2/);
  });

  it('claim values longer than 1024 characters count as missing', () => {
    const policy = parsePolicy(`
version: 1
rules:
  - { id: glob, effect: allow, issuer: https://i.example, when: { ref: { glob: "**" } }, grants: [{ repository: a, actions: [pull] }] }
  - { id: not, effect: allow, issuer: https://i.example, when: { ref: { not: { equals: x } } }, grants: [{ repository: b, actions: [pull] }] }
  - { id: absent, effect: allow, issuer: https://i.example, when: { ref: { exists: false } }, grants: [{ repository: c, actions: [pull] }] }
`);
    const granted = (ref: string): string[] =>
      policy.evaluate(request(identity({ ref }, 'https://i.example'), ['repository:a:pull', 'repository:b:pull', 'repository:c:pull'])).access.flatMap((a) => (a.actions.length > 0 ? [a.name] : []));
    expect(granted('r'.repeat(1024))).toEqual(['a', 'b']);
    expect(granted('r'.repeat(1025))).toEqual(['c']);
  });
});

describe('a rule naming a provider issuer gets the provider preset', () => {
  const rule = (extra = ''): string => `
version: 1
rules:
  - id: by-issuer
    effect: allow
    issuer: ${GHA}
    when: { repository_owner_id: "65" }
    grants: [{ repository: "acme/**", actions: [pull, push] }]
${extra}`;
  const scope = ['repository:acme/app:pull,push'];
  it('a pull_request_target token gets pull only', () => {
    const d = parsePolicy(rule()).evaluate(request(identity({ repository_owner_id: '65', event_name: 'pull_request_target' }), scope));
    expect(d.access[0]?.actions).toEqual(['pull']);
  });
  it('a push token keeps push; allowUntrustedEvents opts out', () => {
    expect(parsePolicy(rule()).evaluate(request(identity({ repository_owner_id: '65', event_name: 'push' }), scope)).access[0]?.actions).toEqual(['pull', 'push']);
    const optOut = parsePolicy(rule().replace('effect: allow', 'effect: allow\n    allowUntrustedEvents: true'));
    expect(optOut.evaluate(request(identity({ repository_owner_id: '65', event_name: 'pull_request_target' }), scope)).access[0]?.actions).toEqual(['pull', 'push']);
  });
  it('GitLab by issuer: a merge request pipeline gets pull only', () => {
    const p = parsePolicy(`
version: 1
rules:
  - { id: gl, effect: allow, issuer: https://gitlab.com, when: { namespace_id: "72" }, grants: [{ repository: "g/**", actions: [pull, push] }] }
`);
    const d = p.evaluate(request(identity({ namespace_id: '72', pipeline_source: 'merge_request_event' }, 'https://gitlab.com'), ['repository:g/a:pull,push']));
    expect(d.access[0]?.actions).toEqual(['pull']);
  });
  it('only tokens of the provider issuer are guarded when a rule lists other issuers too', () => {
    const p = parsePolicy(`
version: 1
rules:
  - { id: mixed, effect: allow, issuer: ["${GHA}", "https://k8s.example"], grants: [{ repository: "acme/**", actions: [pull, push] }] }
`);
    expect(p.evaluate(request(identity({}, 'https://k8s.example'), scope)).access[0]?.actions).toEqual(['pull', 'push']);
    expect(p.evaluate(request(identity({}), scope)).access[0]?.actions).toEqual(['pull']);
  });
});

describe('a placeholder must end its path segment (lint)', () => {
  const lintPattern = (pattern: string): LintResult =>
    lintPolicy(
      parsePolicy(`
version: 1
rules:
  - { id: r, effect: allow, provider: github-actions, when: { repository_owner_id: "65" }, grants: [{ repository: ${JSON.stringify(pattern)}, actions: [pull] }] }
`),
    );
  it.each(['ci/${repository_id}*', 'ci/${repository_owner_id}-${repository_id}/x', 'ci/${repository_id}x', 'ci/*${repository_id}/x'])('%s is an error', (pattern) => {
    expect(codes(lintPattern(pattern)).errors).toEqual(['template-ambiguous@rules[0].grants[0].repository']);
  });
  it.each(['ci/${repository_id}', 'ci/${repository_id}/**', 'ci/r-${repository_id}/x', '${repository_owner_id}/${repository_id}/*'])('%s is fine', (pattern) => {
    expect(codes(lintPattern(pattern)).errors).toEqual([]);
  });
});

describe('provider-specific lint checks are preset data', () => {
  it('a preset with a `lint:` section drives the generic lint', () => {
    const preset = parsePreset({
      name: 'acme-ci',
      description: 'test preset',
      issuers: ['https://ci.acme.example'],
      sharedIssuer: false,
      tenantClaims: [],
      lint: [
        { kind: 'condition-text-contains', code: 'acme-sub', level: 'warning', claim: 'sub', contains: ':', message: 'acme subjects contain ":"' },
        { kind: 'condition-requires', code: 'acme-verified', level: 'error', claim: 'email', requires: { claim: 'verified', equals: true }, message: 'need verified' },
      ],
      claims: { sub: { type: 'string', kind: 'id' }, email: { type: 'string', kind: 'name' }, verified: { type: 'boolean', kind: 'context' } },
    });
    const presets = new Map<string, ProviderPreset>([['acme-ci', preset]]);
    const policy = compilePolicy(
      {
        version: 1,
        rules: [
          { id: 'a', effect: 'allow', provider: 'acme-ci', when: { sub: 'nocolon', email: 'x@acme.example' }, grants: [{ repository: 'acme/**', actions: ['pull'] }] },
          { id: 'b', effect: 'allow', provider: 'acme-ci', when: { sub: 'a:b', email: 'x@acme.example', verified: true }, grants: [{ repository: 'acme/**', actions: ['pull'] }] },
        ],
      },
      { presets },
    );
    expect(codes(lintPolicy(policy, presets))).toEqual({ errors: ['acme-verified@rules[0].when'], warnings: ['acme-sub@rules[0].when.sub'] });
  });
  it('the built-in GitHub and Google checks come from their preset files', () => {
    expect(builtinPresets().get('github-actions')?.lint.map((c) => c.code)).toEqual(['github-sub-format']);
    expect(builtinPresets().get('google')?.lint.map((c) => c.code)).toEqual(['email-unverified']);
  });
});
