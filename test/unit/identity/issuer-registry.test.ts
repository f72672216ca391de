import { describe, expect, it } from 'vitest';
import { compileIssuerPattern, IssuerConfigError, IssuerRegistry, type IssuerConfig } from '../../../src/identity/issuer-registry.js';

const base = (issuer: string, extra: Partial<IssuerConfig> = {}): IssuerConfig => ({
  id: issuer.replace(/\W+/g, '-'),
  issuer,
  audiences: ['portcullis'],
  ...extra,
});

describe('IssuerRegistry', () => {
  const registry = new IssuerRegistry([
    base('https://token.actions.githubusercontent.com', { id: 'github' }),
    base('https://oidc.eks.*.amazonaws.com/id/*', { id: 'eks' }),
    base('https://oidc.circleci.com/org/*', { id: 'circleci' }),
  ]);

  it('matches exact issuers by string equality only', () => {
    expect(registry.match('https://token.actions.githubusercontent.com')?.id).toBe('github');
    expect(registry.match('https://token.actions.githubusercontent.com/')).toBeUndefined();
    expect(registry.match('https://TOKEN.actions.githubusercontent.com')).toBeUndefined();
    expect(registry.match('https://token.actions.githubusercontent.com/enterprise')).toBeUndefined();
  });

  it('applies defaults', () => {
    const entry = registry.match('https://token.actions.githubusercontent.com');
    expect([...(entry?.algorithms ?? [])]).toEqual(['RS256', 'ES256']);
    expect(entry?.clockSkew).toBe(60);
    expect(entry?.discovery).toBe(true);
  });

  it.each([
    'https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE',
    'https://oidc.eks.eu_central-1.amazonaws.com/id/abc',
  ])('matches wildcard issuer %s', (iss) => {
    expect(registry.match(iss)?.id).toBe('eks');
  });

  it.each([
    ['a dot inside the wildcard', 'https://oidc.eks.evil.com/x.amazonaws.com/id/1'],
    ['a slash inside the wildcard', 'https://oidc.eks.us/west.amazonaws.com/id/1'],
    ['an empty wildcard', 'https://oidc.eks..amazonaws.com/id/1'],
    ['a suffix after the last wildcard', 'https://oidc.eks.us-west-2.amazonaws.com/id/1/extra'],
    ['a prefix before the pattern', 'xhttps://oidc.eks.us-west-2.amazonaws.com/id/1'],
    ['a regex-dot lookalike', 'https://oidcXeks.us-west-2.amazonaws.com/id/1'],
    ['a trailing newline', 'https://oidc.eks.us-west-2.amazonaws.com/id/1\n'],
    ['a nested org path', 'https://oidc.circleci.com/org/a/b'],
    ['a dotted org', 'https://oidc.circleci.com/org/a.b'],
  ])('does not let a wildcard cross boundaries: %s', (_name, iss) => {
    expect(registry.match(iss)).toBeUndefined();
  });

  it('compiles patterns to anchored expressions with literal punctuation', () => {
    const pattern = compileIssuerPattern('https://a.example.com/(x)+/*');
    expect(pattern.test('https://a.example.com/(x)+/abc')).toBe(true);
    expect(pattern.test('https://a.example.com/xx/abc')).toBe(false);
  });

  it('prefers an exact entry over a pattern', () => {
    const both = new IssuerRegistry([
      base('https://oidc.circleci.com/org/*', { id: 'any-org' }),
      base('https://oidc.circleci.com/org/mine', { id: 'mine' }),
    ]);
    expect(both.match('https://oidc.circleci.com/org/mine')?.id).toBe('mine');
    expect(both.match('https://oidc.circleci.com/org/other')?.id).toBe('any-org');
  });

  it.each<[string, IssuerConfig[]]>([
    ['no audiences', [base('https://a.example.com', { audiences: [] })]],
    ['an empty audience', [base('https://a.example.com', { audiences: [''] })]],
    ['alg none', [base('https://a.example.com', { algorithms: ['none'] })]],
    ['HS256', [base('https://a.example.com', { algorithms: ['HS256'] })]],
    ['an empty algorithm list', [base('https://a.example.com', { algorithms: [] })]],
    ['clock skew above 300 s', [base('https://a.example.com', { clockSkew: 301 })]],
    ['negative clock skew', [base('https://a.example.com', { clockSkew: -1 })]],
    ['zero maxTokenAge', [base('https://a.example.com', { maxTokenAge: 0 })]],
    ['plain http to a remote host', [base('http://a.example.com')]],
    ['plain http jwksUri to a remote host', [base('https://a.example.com', { jwksUri: 'http://a.example.com/jwks' })]],
    ['discovery off without keys', [base('https://a.example.com', { discovery: false })]],
    ['a relative issuer', [base('/just/a/path')]],
    ['a wildcard registrable domain', [base('https://oidc.*.com/id/*')]],
    ['a wildcard scheme', [base('*://a.example.com')]],
    ['a double wildcard', [base('https://a.example.com/**')]],
    ['duplicate ids', [base('https://a.example.com', { id: 'x' }), base('https://b.example.com', { id: 'x' })]],
    ['duplicate issuers', [base('https://a.example.com', { id: 'x' }), base('https://a.example.com', { id: 'y' })]],
  ])('refuses configuration with %s', (_name, configs) => {
    expect(() => new IssuerRegistry(configs)).toThrow(IssuerConfigError);
  });

  // The Public Suffix List, private section included: under these suffixes anyone can get a host.
  it.each([
    'https://*.github.io',
    'https://*.co.uk',
    'https://*.s3.amazonaws.com',
    'https://*.pages.dev',
    'https://oidc.*.github.io/id/*',
    'https://*.com',
    'https://*.example.*',
    'https://*.localhost:8080',
    'https://10.0.0.*',
  ])('refuses the wildcard issuer %s: the wildcard would cover the registrable domain', (issuer) => {
    expect(() => new IssuerRegistry([base(issuer)])).toThrow(/registrable domain/);
  });

  it.each([
    'https://oidc.eks.*.amazonaws.com/id/*',
    'https://*.oic.prod-aks.azure.com/*/*',
    'https://*.ci.example.com',
    'https://*.example.co.uk',
    'https://oidc.circleci.com/org/*',
    'http://127.0.0.1:8080/org/*',
  ])('accepts the wildcard issuer %s: its registrable domain is spelled out', (issuer) => {
    expect(() => new IssuerRegistry([base(issuer)])).not.toThrow();
  });

  it('applies the new ID-token defaults: lifetime 24 h, 24 h stale keys, azp = audiences, JWT type only, direct use allowed', () => {
    const entry = new IssuerRegistry([base('https://a.example.com')]).match('https://a.example.com');
    expect(entry?.maxTokenLifetime).toBe(86_400);
    expect(entry?.jwksMaxStaleMs).toBe(86_400_000);
    expect([...(entry?.authorizedParties ?? [])]).toEqual(['portcullis']);
    expect(entry?.allowedTypes.size).toBe(0);
    expect(entry?.exchangeOnly).toBe(false);
    const custom = new IssuerRegistry([base('https://a.example.com', { allowedTypes: ['application/AT+JWT'] })]).match('https://a.example.com');
    expect([...(custom?.allowedTypes ?? [])]).toEqual(['at+jwt']);
  });

  it.each<[string, Partial<IssuerConfig>]>([
    ['zero maxTokenLifetime', { maxTokenLifetime: 0 }],
    ['zero jwksMaxStale', { jwksMaxStale: 0 }],
    ['an empty authorizedParties', { authorizedParties: [] }],
    ['an empty allowed type', { allowedTypes: [''] }],
  ])('refuses %s', (_name, extra) => {
    expect(() => new IssuerRegistry([base('https://a.example.com', extra)])).toThrow(IssuerConfigError);
  });

  it('allows plain http to loopback issuers and static keys anywhere', () => {
    expect(() => new IssuerRegistry([base('http://127.0.0.1:8080')])).not.toThrow();
    expect(() => new IssuerRegistry([base('http://localhost:8080/x')])).not.toThrow();
    expect(() => new IssuerRegistry([base('http://[::1]:8080')])).not.toThrow();
    const offline = new IssuerRegistry([base('http://issuer.internal', { jwks: { keys: [] } })]);
    expect(offline.match('http://issuer.internal')?.discovery).toBe(false);
  });

  it('skips discovery when jwksUri is given', () => {
    const entry = new IssuerRegistry([base('https://a.example.com', { jwksUri: 'https://a.example.com/keys' })]).match(
      'https://a.example.com',
    );
    expect(entry?.discovery).toBe(false);
    expect(entry?.jwksUri).toBe('https://a.example.com/keys');
  });
});
