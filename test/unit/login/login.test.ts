import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/store/index.js';
import { SessionService, DEFAULT_ID_TOKENS, DEFAULT_RATE_LIMITS, type BrowserSession } from '../../../src/sessions/index.js';
import { compilePolicy } from '../../../src/policy/index.js';
import { withVerifiedEmailOnly, type Identity, type IdentityVerifier } from '../../../src/identity/index.js';
import {
  LoginService,
  checkLoopbackRedirect,
  describeGrants,
  escapeHtml,
  newUserCode,
  normalizeUserCode,
  renderTemplate,
  summarizeGrants,
  verifierMatches,
  USER_CODE_ALPHABET,
  type LoginSettings,
} from '../../../src/login/index.js';
import { DeviceGrants } from '../../../src/login/device.js';
import { LoginViews } from '../../../src/login/views.js';

const ISSUER = 'https://sso.example.com';
const alice: Identity = {
  issuer: ISSUER,
  issuerId: 'corp',
  subject: 'u-alice',
  claims: { iss: ISSUER, sub: 'u-alice', name: 'Alice', email: 'alice@example.com', email_verified: true, team: 'web' },
  tokenHash: 'h',
  expiresAt: 2_000_000_000,
};

function clock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('user codes', () => {
  it('are 8 letters of an alphabet without vowels or look-alikes, as XXXX-XXXX', () => {
    expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOUY01]/);
    for (let i = 0; i < 200; i++) expect(newUserCode()).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  });
  it('normalise what people type and reject anything outside the alphabet', () => {
    expect(normalizeUserCode(' bdwp hqpk ')).toBe('BDWP-HQPK');
    expect(normalizeUserCode('bdwp-hqpk')).toBe('BDWP-HQPK');
    expect(normalizeUserCode('BDWP-HQP0')).toBeNull();
    expect(normalizeUserCode('BDWP-HQPKK')).toBeNull();
  });
});

describe('loopback hand-off checks', () => {
  it('accepts only http loopback addresses with a port', () => {
    expect(checkLoopbackRedirect('http://127.0.0.1:53123/callback')).toBe('http://127.0.0.1:53123/callback');
    expect(checkLoopbackRedirect('http://[::1]:53123/cb')).toBe('http://[::1]:53123/cb');
    for (const bad of ['http://localhost:53123/cb', 'https://127.0.0.1:53123/cb', 'http://127.0.0.1/cb', 'http://127.0.0.1:1/cb?x=1', 'http://u:p@127.0.0.1:1/', 'http://127.0.0.2:80/', 'http://127.0.0.1.evil.example:80/', 'javascript:alert(1)', '']) {
      expect(() => checkLoopbackRedirect(bad), bad).toThrow(/loopback|required|not a URL/);
    }
  });
  it('checks the PKCE verifier against its S256 challenge', () => {
    const verifier = 'v'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    expect(verifierMatches(verifier, challenge)).toBe(true);
    expect(verifierMatches('w'.repeat(43), challenge)).toBe(false);
    expect(verifierMatches('short', challenge)).toBe(false);
    expect(verifierMatches(undefined, challenge)).toBe(false);
  });
});

describe('page templates', () => {
  it('escape every value, in sections too', () => {
    const html = renderTemplate('<p title="{{t}}">{{t}}</p>{{#rows}}<i>{{v}}</i>{{/rows}}{{^rows}}none{{/rows}}', {
      t: '"><script>alert(1)</script>',
      rows: [{ v: '<b>' }, { v: "'x'" }],
    });
    expect(html).toBe('<p title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p><i>&lt;b&gt;</i><i>&#39;x&#39;</i>');
    expect(escapeHtml('a=`b`')).toBe('a&#61;&#96;b&#96;');
  });
  it('never read template syntax out of a value', () => {
    const views = new LoginViews({ brokerName: 'B {{title}}' } as LoginSettings);
    const page = views.error('Oops', '{{brokerName}} {{> body}}');
    expect(page).toContain('{{brokerName}} {{&gt; body}}');
    expect(page).toContain('<title>Oops · B {{title}}</title>');
  });
});

describe('verified email only', () => {
  it('drops email unless the verification claim is true', () => {
    expect(withVerifiedEmailOnly({ email: 'a@x', email_verified: true }, 'email_verified')).toEqual({ email: 'a@x', email_verified: true });
    expect(withVerifiedEmailOnly({ email: 'a@x', email_verified: 'true' }, 'email_verified')).toHaveProperty('email');
    expect(withVerifiedEmailOnly({ email: 'a@x', email_verified: false }, 'email_verified')).toEqual({ email_verified: false });
    expect(withVerifiedEmailOnly({ email: 'a@x' }, 'email_verified')).toEqual({});
    expect(withVerifiedEmailOnly({ email: 'a@x', xms_edov: true }, 'xms_edov')).toHaveProperty('email');
  });
});

describe('grant summary', () => {
  it('lists what the policy grants the person, templates filled, denies applied', () => {
    const policy = compilePolicy({
      version: 1,
      rules: [
        { id: 'all', effect: 'allow', issuer: ISSUER, grants: [{ repository: 'team/*', actions: ['pull'] }] },
        { id: 'own', effect: 'allow', issuer: ISSUER, when: { email: 'alice@example.com' }, grants: [{ repository: 'team/${team}/*', actions: ['pull', 'push'] }, { registry: 'catalog' }] },
        { id: 'other', effect: 'allow', issuer: ISSUER, when: { email: 'bob@example.com' }, grants: [{ repository: 'bob/*', actions: ['push'] }] },
        { id: 'no-push-web', effect: 'deny', issuer: ISSUER, when: { team: 'ops' }, grants: [{ repository: 'team/web/*', actions: ['push'] }] },
      ],
    });
    const summary = summarizeGrants(policy, alice, 'svc');
    expect(summary.byAction).toEqual([
      { action: 'pull', patterns: ['team/*', 'team/web/*'] },
      { action: 'push', patterns: ['team/web/*'] },
    ]);
    expect(summary.catalog).toBe(true);
    expect(describeGrants(summary)).toBe('You may pull team/* and team/web/*, push team/web/*, and list the registry catalog.');
    const ops = summarizeGrants(policy, { ...alice, claims: { ...alice.claims, team: 'ops' } }, 'svc');
    expect(ops.byAction.find((a) => a.action === 'push')?.patterns ?? []).not.toContain('team/web/*');
    expect(describeGrants(summarizeGrants(policy, { ...alice, issuer: 'https://other' }, 'svc'))).toBe('The trust policy grants you nothing on this registry yet.');
  });
});

describe('device grant on the Store', () => {
  const settings = { codeLifetimeSec: 60, intervalSec: 5, maxUserCodeAttempts: 2, attemptWindowSec: 600 };
  const stored = { issuer: ISSUER, issuerId: 'corp', subject: 'u-alice', claims: {}, tokenHash: 'h', expiresAt: 2_000_000_000 };

  it('answers expired_token once the code outlived its lifetime, and nothing is issued', async () => {
    const c = clock();
    const grants = new DeviceGrants(new MemoryStore({ now: c.now, sweepIntervalMs: 0 }), settings, c.now);
    const started = await grants.start({ clientId: 'cli', service: 'svc', provider: 'corp', requestedFrom: '10.0.0.1' });
    c.advance(61_000);
    await expect(grants.lookup(started.userCode, { subject: 's', ip: '' })).rejects.toThrow(/no pending sign-in request/);
    const polled = await grants.poll(started.deviceCode, 'cli');
    expect(polled.status === 'error' && polled.error.code).toBe('expired_token');
  });

  it('slows down fast pollers by 5 s each time, refuses other clients and denied requests', async () => {
    const c = clock();
    const grants = new DeviceGrants(new MemoryStore({ now: c.now, sweepIntervalMs: 0 }), settings, c.now);
    const started = await grants.start({ clientId: 'cli', service: 'svc', provider: 'corp', requestedFrom: '10.0.0.1' });
    const code = async (): Promise<string> => {
      const r = await grants.poll(started.deviceCode, 'cli');
      return r.status === 'error' ? r.error.code : 'approved';
    };
    expect(await code()).toBe('authorization_pending');
    c.advance(4_000);
    expect(await code()).toBe('slow_down');
    c.advance(9_000);
    expect(await code()).toBe('slow_down'); // the interval is 10 s now
    c.advance(15_000);
    expect(await code()).toBe('authorization_pending');
    const other = await grants.poll(started.deviceCode, 'someone-else');
    expect(other.status === 'error' && other.error.code).toBe('invalid_grant');
    await grants.decide(started.userCode, false, stored);
    c.advance(15_000);
    expect(await code()).toBe('access_denied');
    c.advance(15_000);
    expect(await code()).toBe('invalid_grant');
    await expect(grants.decide(started.userCode, true, stored)).rejects.toThrow(/already decided or has expired/);
  });

  it('hands an approval out exactly once', async () => {
    const c = clock();
    const grants = new DeviceGrants(new MemoryStore({ now: c.now, sweepIntervalMs: 0 }), settings, c.now);
    const started = await grants.start({ clientId: 'cli', service: 'svc', provider: 'corp', requestedFrom: '10.0.0.1' });
    await grants.decide(started.userCode, true, stored);
    const first = await grants.poll(started.deviceCode, 'cli');
    expect(first.status).toBe('approved');
    c.advance(6_000);
    const second = await grants.poll(started.deviceCode, 'cli');
    expect(second.status === 'error' && second.error.code).toBe('invalid_grant');
  });

  it('limits wrong user codes per person and per IP, then refuses even the right one', async () => {
    const c = clock();
    const grants = new DeviceGrants(new MemoryStore({ now: c.now, sweepIntervalMs: 0 }), settings, c.now);
    const started = await grants.start({ clientId: 'cli', service: 'svc', provider: 'corp', requestedFrom: '10.0.0.1' });
    const who = { subject: 'mallory', ip: '10.9.9.9' };
    await expect(grants.lookup('BBBB-BBBB', who)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(grants.lookup('CCCC-CCCC', who)).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(grants.lookup('DDDD-DDDD', who)).rejects.toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/too many wrong codes/) });
    await expect(grants.lookup(started.userCode, who)).rejects.toMatchObject({ code: 'rate_limited' });
    // The same IP under another account is blocked too; another person elsewhere is not.
    await expect(grants.lookup(started.userCode, { subject: 'mallory2', ip: '10.9.9.9' })).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(grants.lookup(started.userCode, { subject: 'alice', ip: '10.1.1.1' })).resolves.toMatchObject({ userCode: started.userCode });
  });
});

describe('one-time codes of the result page', () => {
  function service(now: () => number): LoginService {
    const store = new MemoryStore({ now, sweepIntervalMs: 0 });
    const sessions = new SessionService({
      store,
      refresh: { enabled: true, workloadLifetimeSec: 3600, personLifetimeSec: 43_200, personIssuers: ['corp'], rotate: false },
      idTokens: DEFAULT_ID_TOKENS,
      rateLimits: DEFAULT_RATE_LIMITS,
      now,
    });
    const settings: LoginSettings = {
      brokerName: 'Test',
      publicUrl: 'https://broker.example.com',
      providers: [{ id: 'corp', name: 'Corp', issuer: ISSUER, clientId: 'c', scopes: ['openid'], nameClaims: ['name'], authorizationParams: {} }],
      services: ['svc', 'other'],
      registries: [],
      resultCodeLifetimeSec: 300,
      handoffCodeLifetimeSec: 120,
      flowLifetimeSec: 600,
      browserSessionLifetimeSec: 3600,
      device: { codeLifetimeSec: 600, intervalSec: 5, maxUserCodeAttempts: 5, attemptWindowSec: 900 },
    };
    const verifier: IdentityVerifier = { verify: () => Promise.reject(new Error('not used')) };
    const policy = compilePolicy({ version: 1, rules: [{ id: 'p', effect: 'allow', issuer: ISSUER, grants: [{ repository: 'team/*', actions: ['pull'] }] }] });
    return new LoginService({ settings, sessions, verifier, policy: () => policy, now });
  }
  const session: BrowserSession = {
    v: 1, id: 'b1', issuer: ISSUER, issuerId: 'corp', subject: 'u-alice', claims: alice.claims, tokenHash: 'h', idTokenExpiresAt: 2_000_000_000,
    name: 'Alice', csrf: 'x'.repeat(43), createdAt: 0, expiresAt: Number.MAX_SAFE_INTEGER,
  };

  it('works once, for its service, within its lifetime', async () => {
    const c = clock();
    const login = service(c.now);
    const first = await login.result(session, 'svc');
    expect(first.grants.byAction).toEqual([{ action: 'pull', patterns: ['team/*'] }]);
    await expect(login.redeemRegistryCode(first.code, 'svc')).resolves.toMatchObject({ identity: { subject: 'u-alice', issuerId: 'corp' } });
    expect(await login.redeemRegistryCode(first.code, 'svc')).toEqual({ refused: expect.stringMatching(/unknown, expired or was already used/) });

    const expired = await login.result(session, 'svc');
    c.advance(301_000);
    expect(await login.redeemRegistryCode(expired.code, 'svc')).toEqual({ refused: expect.stringMatching(/unknown, expired/) });

    const elsewhere = await login.result(session, 'svc');
    expect(await login.redeemRegistryCode(elsewhere.code, 'other')).toEqual({ refused: expect.stringMatching(/issued for service "svc"/) });
  });
});

describe('login configuration', () => {
  it('fills defaults and refuses what cannot work', async () => {
    const { configSchema } = await import('../../../src/config/index.js');
    const ok = configSchema.parse({ login: { providers: [{ id: 'corp', issuer: ISSUER, clientId: 'c' }] } });
    expect(ok.login.providers[0]).toMatchObject({ scopes: ['openid', 'email', 'profile'], verifiedEmailClaim: 'email_verified', nameClaims: ['name', 'preferred_username', 'email'] });
    expect(ok.login.device).toEqual({ codeLifetime: 600, interval: 5, maxUserCodeAttempts: 5, attemptWindow: 900 });
    const bad = (login: unknown): string => {
      const r = configSchema.safeParse({ login });
      return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(bad({ providers: [{ id: 'corp', issuer: 'http://sso.example.com', clientId: 'c' }] })).toMatch(/issuer: must be an https URL/);
    expect(bad({ providers: [{ id: 'corp', issuer: ISSUER, clientId: 'c', scopes: ['email'] }] })).toMatch(/must include "openid"/);
    expect(bad({ providers: [{ id: 'a', issuer: ISSUER, clientId: 'c' }, { id: 'a', issuer: 'https://x', clientId: 'd' }] })).toMatch(/duplicate provider id/);
    expect(bad({ providers: [{ id: 'a', issuer: ISSUER, clientId: 'c', authorizationParams: { state: 'x' } }] })).toMatch(/may not set a parameter the flow sets itself/);
    expect(bad({ registries: ['https://registry.example.com'] })).toMatch(/host or host:port/);
  });

  it('makes each provider a trusted issuer with audience = client id, and refuses a clash with issuers[]', async () => {
    const { configSchema } = await import('../../../src/config/index.js');
    const { loginIssuers } = await import('../../../src/broker/login.js');
    const config = configSchema.parse({ login: { providers: [{ id: 'corp', issuer: ISSUER, clientId: 'c', verifiedEmailClaim: 'xms_edov' }] } });
    expect(loginIssuers(config)).toEqual([{ id: 'corp', issuer: ISSUER, audiences: ['c'], algorithms: ['RS256', 'ES256'], clockSkew: 60, verifiedEmailClaim: 'xms_edov' }]);
    const clash = configSchema.parse({ issuers: [{ id: 'okta', issuer: ISSUER, audiences: ['x'] }], login: { providers: [{ id: 'corp', issuer: ISSUER, clientId: 'c' }] } });
    expect(() => loginIssuers(clash)).toThrow(/also listed under issuers/);
  });
});

describe('people providers in the verifier', () => {
  it('drop an unverified email from ID tokens presented directly at /token too', async () => {
    const { generateKeyPair, exportJWK, SignJWT } = await import('jose');
    const { createVerifier } = await import('../../../src/identity/index.js');
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const verifier = createVerifier([{ id: 'corp', issuer: ISSUER, audiences: ['client'], jwks: { keys: [jwk] }, verifiedEmailClaim: 'email_verified' }], {
      fetch: (() => Promise.reject(new Error('no network'))) as unknown as typeof fetch,
    });
    const mint = (claims: Record<string, unknown>): Promise<string> =>
      new SignJWT({ iss: ISSUER, sub: 'u1', aud: 'client', ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuedAt().setExpirationTime('5m').sign(privateKey);
    const unverified = await verifier.verify(await mint({ email: 'ceo@example.com', email_verified: false }));
    expect(unverified.claims.email).toBeUndefined();
    expect(unverified.claims.email_verified).toBe(false);
    const verified = await verifier.verify(await mint({ email: 'dev@example.com', email_verified: true }));
    expect(verified.claims.email).toBe('dev@example.com');
  });
});
