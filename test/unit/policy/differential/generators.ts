import fc from 'fast-check';
import type { Cond, CondOps, GrantDoc, PolicyDoc, RuleDoc } from './model.js';

/**
 * fast-check generators of policies, claims and requests for the differential
 * test. Pools are small on purpose: collisions (a glob that matches a claim, a
 * template value that binds, a deny that removes a granted action) are what
 * make a case interesting.
 */

export const ISS_PLAIN = 'https://issuer.example';
export const ISS_GITHUB = 'https://token.actions.githubusercontent.com';
export const ISS_GITLAB = 'https://gitlab.com';
export const SERVICE = 'registry.test';

const LONG = 'r'.repeat(1025);
const scalarValue = fc.constantFrom<string | number | boolean>('a', 'b', 'bob', 'Bob', '65', 65, 0, '', true, false, 'true', 'refs/heads/main', '/main', 'main', 'a/b', 'x1');
const claimValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: scalarValue },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], ['a', 'b'], ['bob'], ['a', 'Bob'], [65, 'a'], { x: 'a' }, LONG, -1, 1.5) },
);

const CLAIM_KEYS = ['owner', 'ref', 'actor', 'id', 'groups', 'k8s\\.io.ns'] as const;
const eventValue = fc.constantFrom<unknown>(undefined, 'push', 'pull_request', 'pull_request_target', 'merge_request_event', 'external_pull_request_event', '', null, ['pull_request'], 5);

export const claimsArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      owner: claimValue,
      ref: claimValue,
      actor: claimValue,
      id: claimValue,
      groups: claimValue,
      ns: claimValue,
      event_name: eventValue,
      pipeline_source: eventValue,
    },
    { requiredKeys: [] },
  )
  .map(({ ns, ...rest }) => {
    const claims: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) claims[k] = v;
    if (ns !== undefined) claims['k8s.io'] = { ns };
    return claims;
  });

const GLOBS = ['**/main', 'refs/heads/*', 'refs/**', 'a*', '**', '*', 'refs/**/main', 'b*b', '*/*'];
const REGEXES = ['a|b', '[0-9]+', 'refs/heads/.*', '(b|B)ob', '.*', 'x[0-9]'];

const leafOps: fc.Arbitrary<CondOps> = fc.oneof(
  fc.record({ equals: scalarValue, asString: fc.constantFrom<boolean | undefined>(undefined, true) }, { requiredKeys: ['equals'] }),
  fc.record({ oneOf: fc.array(scalarValue, { minLength: 1, maxLength: 3 }), asString: fc.constantFrom<boolean | undefined>(undefined, true) }, { requiredKeys: ['oneOf'] }),
  fc.record({ glob: fc.constantFrom(...GLOBS), asString: fc.constantFrom<boolean | undefined>(undefined, true) }, { requiredKeys: ['glob'] }),
  fc.record({ regex: fc.constantFrom(...REGEXES), asString: fc.constantFrom<boolean | undefined>(undefined, true) }, { requiredKeys: ['regex'] }),
  fc.record({ exists: fc.boolean() }),
  fc.record({ exists: fc.boolean(), glob: fc.constantFrom(...GLOBS) }),
);

const condArb: fc.Arbitrary<Cond> = fc.letrec<{ cond: Cond }>((tie) => ({
  cond: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: scalarValue },
    { weight: 6, arbitrary: leafOps.map(clean) },
    { weight: 1, arbitrary: tie('cond').map((c) => ({ not: c })) },
    { weight: 1, arbitrary: tie('cond').map((c) => ({ any: c })) },
    { weight: 1, arbitrary: tie('cond').map((c) => ({ all: c })) },
  ),
})).cond;

function clean(ops: CondOps): CondOps {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ops)) if (v !== undefined) out[k] = v;
  return out as CondOps;
}

const PATTERNS = [
  't/**',
  't/*',
  't/a',
  '**/main',
  't/**/main',
  'a-*',
  't/${actor}/**',
  't/p-${actor}/**',
  't/${id}',
  '${actor}/*',
  'x/${k8s\\.io.ns}/**',
  '${owner}/**',
  '**',
];
const ACTIONS = ['pull', 'push', 'delete', '*'];

const grantArb: fc.Arbitrary<GrantDoc> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ repository: fc.oneof(fc.constantFrom(...PATTERNS), fc.uniqueArray(fc.constantFrom(...PATTERNS), { minLength: 1, maxLength: 2 })), actions: fc.subarray(ACTIONS, { minLength: 1 }) }) },
  { weight: 1, arbitrary: fc.constant({ registry: 'catalog' as const }) },
);

type Source = Pick<RuleDoc, 'provider' | 'issuer' | 'anonymous'>;
const sourceArb: fc.Arbitrary<Source> = fc.constantFrom<Source>(
  { issuer: ISS_PLAIN },
  { provider: 'github-actions' },
  { provider: 'gitlab' },
  { issuer: ISS_GITHUB },
  { issuer: [ISS_GITHUB, ISS_PLAIN] },
  { issuer: [ISS_GITHUB, ISS_GITLAB] },
  { provider: 'gitlab', issuer: ISS_PLAIN },
  { anonymous: true },
);

const ruleArb = fc
  .record({
    effect: fc.constantFrom<'allow' | 'deny'>('allow', 'allow', 'deny'),
    source: sourceArb,
    when: fc.dictionary(fc.constantFrom(...CLAIM_KEYS), condArb, { maxKeys: 2 }),
    service: fc.constantFrom<string[] | undefined>(undefined, undefined, undefined, [SERVICE], ['other']),
    clientIp: fc.constantFrom<string[] | undefined>(undefined, undefined, undefined, ['10.0.0.0/8'], ['192.168.1.7'], ['10.1.0.0/16', '172.16.0.0/12']),
    grants: fc.array(grantArb, { minLength: 1, maxLength: 3 }),
    tokenLifetime: fc.constantFrom<number | undefined>(undefined, 30, 60, 3600),
    allowUntrustedEvents: fc.constantFrom<boolean | undefined>(undefined, undefined, undefined, true),
  })
  .map((r): Omit<RuleDoc, 'id'> => ({
    effect: r.effect,
    ...r.source,
    ...(r.source.anonymous === true || Object.keys(r.when).length === 0 ? {} : { when: r.when }),
    ...(r.service === undefined ? {} : { service: r.service }),
    ...(r.clientIp === undefined ? {} : { clientIp: r.clientIp }),
    grants: r.grants,
    ...(r.effect === 'allow' && r.tokenLifetime !== undefined ? { tokenLifetime: r.tokenLifetime } : {}),
    ...(r.allowUntrustedEvents === undefined ? {} : { allowUntrustedEvents: r.allowUntrustedEvents }),
  }));

export const policyArb: fc.Arbitrary<PolicyDoc> = fc.array(ruleArb, { minLength: 1, maxLength: 6 }).map((rules) => ({
  version: 1 as const,
  rules: rules.map((r, i) => ({ id: `r${i}`, ...r })),
}));

const NAMES = ['t/a', 't/b/c', 't/main', 'main', 'a/main', 't/x/main', 'a-b', 't/p-bob/x', 't/bob/x', 't/a/b/main', 'x/a/y', '65/z', 'bob/q', 't/x1'];
const scopeArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ name: fc.constantFrom(...NAMES), actions: fc.subarray(['pull', 'push', 'delete', '*', 'foo'], { minLength: 1 }) }).map((s) => `repository:${s.name}:${s.actions.join(',')}`) },
  { weight: 1, arbitrary: fc.constantFrom('registry:catalog:*', 'registry:catalog:pull,push', 'registry:catalog:pull,*') },
);

export interface RequestSpec {
  readonly issuer: string | null;
  readonly claims: Record<string, unknown>;
  readonly scopes: string[];
  readonly service: string;
  readonly clientIp?: string;
}

export const requestArb: fc.Arbitrary<RequestSpec> = fc
  .record({
    issuer: fc.constantFrom<string | null>(ISS_PLAIN, ISS_GITHUB, ISS_GITHUB, ISS_GITLAB, null),
    claims: claimsArb,
    scopes: fc.array(scopeArb, { minLength: 1, maxLength: 3 }),
    service: fc.constantFrom(SERVICE, SERVICE, 'other'),
    clientIp: fc.constantFrom<string | undefined>(undefined, '10.1.2.3', '10.2.0.1', '192.168.1.7', '192.168.1.8', '::ffff:10.1.2.3', '172.20.0.1', '8.8.8.8', 'not-an-ip'),
  })
  .map(({ clientIp, ...r }) => (clientIp === undefined ? r : { ...r, clientIp }));
