import { describe, expect, it } from 'vitest';
import type { Identity } from '../../../src/identity/types.js';
import { MemoryStore } from '../../../src/store/index.js';
import {
  DEFAULT_ID_TOKENS,
  DEFAULT_RATE_LIMITS,
  DEFAULT_REFRESH,
  SessionError,
  SessionService,
  type SessionServiceOptions,
} from '../../../src/sessions/index.js';

function identity(overrides: Partial<Identity> = {}): Identity {
  return {
    issuer: 'https://token.actions.githubusercontent.com',
    issuerId: 'github',
    subject: 'repo:octo/app:ref:refs/heads/main',
    claims: { repository: 'octo/app', ref: 'refs/heads/main' },
    tokenHash: 'h'.repeat(43),
    expiresAt: Math.floor(Date.now() / 1000) + 300,
    tokenId: 'jti-1',
    ...overrides,
  };
}

function setup(overrides: Partial<SessionServiceOptions> = {}) {
  const clock = { now: Date.now() };
  const store = new MemoryStore({ sweepIntervalMs: 0, now: () => clock.now });
  const sessions = new SessionService({
    store,
    refresh: DEFAULT_REFRESH,
    idTokens: DEFAULT_ID_TOKENS,
    rateLimits: DEFAULT_RATE_LIMITS,
    now: () => clock.now,
    ...overrides,
  });
  return { clock, store, sessions };
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof SessionError ? e.code : String(e)));

describe('refresh sessions', () => {
  it('issues an opaque 256-bit token, stores only its hash, and rebuilds the identity', async () => {
    const { store, sessions } = setup();
    const id = identity();
    const { token, session } = await sessions.start({ identity: id, service: 'reg', origin: 'login', rules: ['ci'], clientId: 'docker' });
    expect(token).toMatch(/^pcr_[A-Za-z0-9_-]{43}$/);
    // The plain token appears nowhere in the store.
    const keys = await store.indexMembers('s:all');
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain(token.slice(4));
    expect(await store.get(keys[0] as string)).not.toContain(token.slice(4));

    const r = await sessions.refresh(token, 'reg');
    expect(r.token).toBe(token);
    expect(r.session.id).toBe(session.id);
    expect(r.identity).toEqual(id);
  });

  it('writes "last used" at most once a minute per session, not on every refresh', async () => {
    const { clock, sessions } = setup();
    const { token, session } = await sessions.start({ identity: identity(), service: 'reg', origin: 'login', rules: ['ci'] });
    const first = clock.now;
    await sessions.refresh(token, 'reg');
    await new Promise((r) => setImmediate(r));
    expect((await sessions.lastUsed([session.id])).get(session.id)).toBe(first);
    clock.now += 30_000;
    await sessions.refresh(token, 'reg');
    await new Promise((r) => setImmediate(r));
    expect((await sessions.lastUsed([session.id])).get(session.id)).toBe(first);
    clock.now += 31_000;
    await sessions.refresh(token, 'reg');
    await new Promise((r) => setImmediate(r));
    expect((await sessions.lastUsed([session.id])).get(session.id)).toBe(clock.now);
  });

  it('is bound to its service', async () => {
    const { sessions } = setup();
    const { token } = await sessions.start({ identity: identity(), service: 'reg', origin: 'login', rules: [] });
    expect(await code(sessions.refresh(token, 'other-registry'))).toBe('wrong_service');
  });

  it('refuses malformed and unknown tokens', async () => {
    const { sessions } = setup();
    expect(await code(sessions.refresh('not-a-token', 'reg'))).toBe('invalid_grant');
    expect(await code(sessions.refresh(`pcr_${'A'.repeat(43)}`, 'reg'))).toBe('invalid_grant');
  });

  it('lasts 1 h for workloads, 12 h for people, capped by the policy', async () => {
    const { clock, sessions } = setup({ refresh: { ...DEFAULT_REFRESH, personIssuers: ['google'] } });
    const workload = await sessions.start({ identity: identity(), service: 'reg', origin: 'login', rules: [] });
    const person = await sessions.start({ identity: identity({ issuerId: 'google', subject: 'alice' }), service: 'reg', origin: 'login', rules: [] });
    const capped = await sessions.start({ identity: identity({ issuerId: 'google', subject: 'bob' }), service: 'reg', origin: 'login', rules: ['short'], lifetimeCap: 600 });
    expect(workload.session.kind).toBe('workload');
    expect(person.session.kind).toBe('person');
    expect(workload.session.expiresAt - workload.session.createdAt).toBe(3600_000);
    expect(person.session.expiresAt - person.session.createdAt).toBe(12 * 3600_000);
    expect(capped.session.expiresAt - capped.session.createdAt).toBe(600_000);

    clock.now += 601_000;
    expect(await code(sessions.refresh(capped.token, 'reg'))).toBe('invalid_grant');
    expect(await code(sessions.refresh(workload.token, 'reg'))).toBe('ok');
    clock.now += 3000_000;
    expect(await code(sessions.refresh(workload.token, 'reg'))).toBe('invalid_grant');
    expect(await code(sessions.refresh(person.token, 'reg'))).toBe('ok');
  });

  it('rotates on request and revokes the whole session when an old token comes back', async () => {
    const { sessions } = setup({ refresh: { ...DEFAULT_REFRESH, rotate: true } });
    const first = await sessions.start({ identity: identity(), service: 'reg', origin: 'exchange', rules: [] });
    const second = await sessions.refresh(first.token, 'reg');
    expect(second.token).not.toBe(first.token);
    expect(second.session.generation).toBe(1);
    const third = await sessions.refresh(second.token, 'reg');
    // Replaying the first token ends the session: even the newest token stops working.
    expect(await code(sessions.refresh(first.token, 'reg'))).toBe('reused');
    expect(await code(sessions.refresh(third.token, 'reg'))).toBe('invalid_grant');
  });

  it('refuses to store an identity whose claims do not fit', async () => {
    const { sessions } = setup();
    const huge = identity({ claims: { blob: 'x'.repeat(70_000) } });
    expect(await code(sessions.start({ identity: huge, service: 'reg', origin: 'login', rules: [] }))).toBe('too_large');
  });
});

describe('listing and revocation', () => {
  async function populated() {
    const ctx = setup();
    const a = await ctx.sessions.start({ identity: identity({ subject: 'alice', issuerId: 'google', issuer: 'https://accounts.google.com' }), service: 'reg', origin: 'login', rules: ['people'] });
    const b = await ctx.sessions.start({ identity: identity({ subject: 'bob', issuerId: 'google', issuer: 'https://accounts.google.com' }), service: 'reg', origin: 'login', rules: ['people'] });
    const c = await ctx.sessions.start({ identity: identity(), service: 'reg', origin: 'exchange', rules: ['ci'] });
    return { ...ctx, a, b, c };
  }

  it('lists by subject, issuer (URL or id), rule and id without exposing claims', async () => {
    const { sessions, a, c } = await populated();
    expect((await sessions.list({ subject: 'alice' })).map((s) => s.id)).toEqual([a.session.id]);
    expect(await sessions.list({ issuer: 'https://accounts.google.com' })).toHaveLength(2);
    expect(await sessions.list({ issuer: 'google' })).toHaveLength(2);
    expect((await sessions.list({ rule: 'ci' })).map((s) => s.id)).toEqual([c.session.id]);
    expect((await sessions.list({ id: c.session.id }))[0]).not.toHaveProperty('claims');
    expect(await sessions.list({ all: true })).toHaveLength(3);
    // No criterion matches nothing, rather than everything.
    expect(await sessions.list({})).toHaveLength(0);
  });

  it('revokes by subject, by rule and by token', async () => {
    const { sessions, a, b, c } = await populated();
    expect(await sessions.revoke({ subject: 'alice' })).toBe(1);
    expect(await code(sessions.refresh(a.token, 'reg'))).toBe('invalid_grant');
    expect(await code(sessions.refresh(b.token, 'reg'))).toBe('ok');
    expect(await sessions.revoke({ token: c.token })).toBe(1);
    expect(await code(sessions.refresh(c.token, 'reg'))).toBe('invalid_grant');
    expect(await sessions.revoke({ rule: 'people' })).toBe(1);
    expect(await code(sessions.refresh(b.token, 'reg'))).toBe('invalid_grant');
    expect(await sessions.list({ all: true })).toHaveLength(0);
  });
});

describe('single use of ID tokens', () => {
  it('accepts the first use only, keyed by jti, or by token hash without one', async () => {
    const { sessions } = setup();
    expect(await sessions.consumeIdToken(identity(), 'exchange')).toBe(true);
    expect(await sessions.consumeIdToken(identity(), 'direct')).toBe(false);
    // Same jti from another issuer is another token.
    expect(await sessions.consumeIdToken(identity({ issuer: 'https://gitlab.example' }), 'exchange')).toBe(true);
    const noJti = identity({ tokenId: undefined, tokenHash: 'z'.repeat(43) });
    delete (noJti as { tokenId?: string }).tokenId;
    expect(await sessions.consumeIdToken(noJti, 'exchange')).toBe(true);
    expect(await sessions.consumeIdToken(noJti, 'exchange')).toBe(false);
  });

  it('keeps the marker until the token expires plus skew, then lets it go', async () => {
    const { clock, sessions } = setup({ idTokens: { ...DEFAULT_ID_TOKENS, clockSkewSec: 0 } });
    const id = identity({ expiresAt: Math.floor(clock.now / 1000) + 10 });
    expect(await sessions.consumeIdToken(id, 'exchange')).toBe(true);
    clock.now += 5_000;
    expect(await sessions.consumeIdToken(id, 'exchange')).toBe(false);
    clock.now += 6_000;
    expect(await sessions.consumeIdToken(id, 'exchange')).toBe(true);
  });

  it('demands single use per config, issuer or rule', () => {
    const { sessions } = setup({ idTokens: { ...DEFAULT_ID_TOKENS, singleUseIssuers: ['gitlab'], singleUseRules: ['prod-push'] } });
    expect(sessions.singleUseRequired(identity(), ['ci'])).toBe(false);
    expect(sessions.singleUseRequired(identity({ issuerId: 'gitlab' }), [])).toBe(true);
    expect(sessions.singleUseRequired(identity(), ['prod-push'])).toBe(true);
    const strict = setup({ idTokens: { ...DEFAULT_ID_TOKENS, singleUse: true } }).sessions;
    expect(strict.singleUseRequired(identity(), [])).toBe(true);
  });
});

describe('one-time codes', () => {
  it('are consumed exactly once, even concurrently', async () => {
    const { sessions } = setup();
    const c = await sessions.codes.create('browser-login', '{"state":"x"}', 30);
    expect(c).toMatch(/^pco_[A-Za-z0-9_-]{43}$/);
    const results = await Promise.all([1, 2, 3, 4].map(() => sessions.codes.consume('browser-login', c)));
    expect(results.filter((r) => r !== null)).toEqual(['{"state":"x"}']);
    expect(await sessions.codes.consume('browser-login', c)).toBeNull();
  });

  it('are bound to their purpose and expire', async () => {
    const { clock, sessions } = setup();
    const c = await sessions.codes.create('browser-login', 'p', 2);
    expect(await sessions.codes.consume('device', c)).toBeNull();
    clock.now += 2_001;
    expect(await sessions.codes.consume('browser-login', c)).toBeNull();
    await expect(sessions.codes.create('browser-login', 'p', 3600)).rejects.toThrow(RangeError);
    await expect(sessions.codes.create('Bad Purpose', 'p')).rejects.toThrow(RangeError);
  });
});

describe('rate limits', () => {
  it('limits per IP, identity and issuer with a Retry-After', async () => {
    const { sessions } = setup({
      rateLimits: { ...DEFAULT_RATE_LIMITS, perIp: { points: 2, durationSec: 30 }, perIdentity: { points: 3, durationSec: 60 } },
    });
    await sessions.limits.checkIp('10.0.0.1');
    await sessions.limits.checkIp('10.0.0.1');
    const err = await sessions.limits.checkIp('10.0.0.1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionError);
    expect((err as SessionError).code).toBe('rate_limited');
    expect((err as SessionError).retryAfterSec).toBeGreaterThanOrEqual(29);
    await sessions.limits.checkIp('10.0.0.2');

    for (let i = 0; i < 3; i++) await sessions.limits.checkIdentity('iss', 'alice');
    expect(await code(sessions.limits.checkIdentity('iss', 'alice'))).toBe('rate_limited');
    expect(await code(sessions.limits.checkIdentity('iss', 'bob'))).toBe('ok');
  });

  it('fails open or closed when the store fails', async () => {
    const open = setup();
    await open.store.close();
    await expect(open.sessions.limits.checkIp('10.0.0.1')).resolves.toBeUndefined();
    // A request that needs the store anyway is told at once.
    await expect(open.sessions.limits.checkIp('10.0.0.1', true)).rejects.toMatchObject({ name: 'SessionError', code: 'unavailable' });
    const closed = setup({ rateLimits: { ...DEFAULT_RATE_LIMITS, onStoreFailure: 'closed' } });
    await closed.store.close();
    await expect(closed.sessions.limits.checkIp('10.0.0.1')).rejects.toMatchObject({ name: 'SessionError', code: 'unavailable' });
  });
});

describe('single-use marker lifetime', () => {
  it('is capped by maxTokenAge (validUntil) plus skew, not by a later exp', async () => {
    const { clock, store, sessions } = setup({ idTokens: { ...DEFAULT_ID_TOKENS, clockSkewSec: 30 } });
    const nowSec = Math.floor(clock.now / 1000);
    // exp one hour away, but the issuer's maxTokenAge makes the verifier refuse it after 60 s.
    const id = identity({ tokenId: 'capped', expiresAt: nowSec + 3600, validUntil: nowSec + 60 });
    expect(await sessions.consumeIdToken(id, 'direct')).toBe(true);
    expect(store.size).toBe(1);
    clock.now = (nowSec + 60 + 30) * 1000 - 1;
    expect(await sessions.consumeIdToken(id, 'direct')).toBe(false);
    clock.now += 1;
    // The verifier no longer accepts the token, so the marker has left the store.
    expect(store.sweep()).toBe(1);
    expect(store.size).toBe(0);
  });

  it('without maxTokenAge lives until exp plus skew', async () => {
    const { clock, store, sessions } = setup({ idTokens: { ...DEFAULT_ID_TOKENS, clockSkewSec: 60 } });
    const nowSec = Math.floor(clock.now / 1000);
    expect(await sessions.consumeIdToken(identity({ tokenId: 'plain', expiresAt: nowSec + 300 }), 'direct')).toBe(true);
    clock.now = (nowSec + 360) * 1000 - 1;
    expect(store.sweep()).toBe(0);
    clock.now += 1;
    expect(store.sweep()).toBe(1);
  });
});
