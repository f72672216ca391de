/**
 * Two brokers (each built with buildBroker, each with its own Redis client)
 * sharing one real redis-server: sessions, single use and revocation are shared
 * state, and a Redis outage is a prompt 503 that heals without a restart.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../../helpers/issuer.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { basic, decodeJwt, exchangeIdToken, startBroker, TOKEN_EXCHANGE_GRANT, type TestBroker } from '../../helpers/broker.js';

const SERVICE = 'test-registry';
const ADMIN_TOKEN = 'admin-secret-for-tests-0123456789';

let redis: RedisServer;
let issuer: TestIssuer;
let a: TestBroker;
let b: TestBroker;
let secretsDir: string;

function policy(teamRepo: string): Record<string, unknown> {
  return {
    version: 1,
    rules: [
      {
        id: 'team-push',
        effect: 'allow',
        issuer: issuer.issuer,
        when: { team: 'blue' },
        grants: [{ repository: teamRepo, actions: ['pull', 'push'] }],
      },
    ],
  };
}

async function brokerOn(redisUrl: string, extraSessions: Record<string, unknown> = {}): Promise<TestBroker> {
  return startBroker({
    issuers: [{ id: 'test', issuer: issuer.issuer, audiences: ['portcullis'], clockSkew: 0 }],
    policy: policy('blue/**'),
    services: [SERVICE, 'other-registry'],
    logLevel: 'warn',
    extra: {
      store: { type: 'redis', url: redisUrl, keyPrefix: 'itest:', commandTimeoutMs: 300 },
      admin: { enabled: true, token: { file: path.join(secretsDir, 'admin-token') } },
      sessions: {
        rateLimits: { perIdentity: { points: 1000, durationSec: 60 } },
        ...extraSessions,
      },
    },
  });
}

async function login(broker: TestBroker, idToken: string): Promise<Response> {
  const url = `${broker.url}/token?service=${SERVICE}&offline_token=true&client_id=docker&account=ci`;
  return fetch(url, { headers: { authorization: basic('ci', idToken) } });
}

async function refresh(broker: TestBroker, refreshToken: string, scope: string, service = SERVICE): Promise<Response> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', service, client_id: 'docker', refresh_token: refreshToken, scope });
  return fetch(`${broker.url}/token`, { method: 'POST', body: form });
}

function exchange(broker: TestBroker, idToken: string, scope: string): Promise<Response> {
  return exchangeIdToken(broker.url, SERVICE, idToken, scope);
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

function accessOf(body: Record<string, unknown>): unknown {
  return decodeJwt(body.access_token as string).payload.access;
}

beforeAll(async () => {
  secretsDir = await mkdtemp(path.join(tmpdir(), 'portcullis-sessions-'));
  await writeFile(path.join(secretsDir, 'admin-token'), `${ADMIN_TOKEN}\n`);
  redis = await startRedis();
  issuer = await TestIssuer.start();
  a = await brokerOn(redis.url);
  b = await brokerOn(redis.url);
}, 30_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await issuer?.close();
  await redis?.stop();
  await rm(secretsDir, { recursive: true, force: true });
});

describe('two brokers, one Redis', () => {
  it('a refresh token from one broker works at the other, echoed unchanged, for the requested scopes', async () => {
    const res = await login(a, await issuer.mint({ team: 'blue' }, { subject: 'ci-1' }));
    expect(res.status).toBe(200);
    const body = await json(res);
    const token = body.refresh_token as string;
    expect(token).toMatch(/^pcr_/);

    // docker: scopes space-joined in one field.
    const r1 = await refresh(b, token, 'repository:blue/app:pull,push repository:red/app:pull');
    expect(r1.status).toBe(200);
    const b1 = await json(r1);
    expect(b1.refresh_token).toBe(token);
    expect(accessOf(b1)).toEqual([
      { type: 'repository', name: 'blue/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'red/app', actions: [] },
    ]);
    expect(decodeJwt(b1.access_token as string).payload.sub).toBe('ci-1');

    // skopeo: repeated scope fields.
    const form = new URLSearchParams({ grant_type: 'refresh_token', service: SERVICE, client_id: 'containers/image', refresh_token: token });
    form.append('scope', 'repository:blue/app:pull');
    form.append('scope', 'repository:blue/lib:pull,push');
    const r2 = await fetch(`${a.url}/token`, { method: 'POST', body: form });
    expect(r2.status).toBe(200);
    expect(accessOf(await json(r2))).toEqual([
      { type: 'repository', name: 'blue/app', actions: ['pull'] },
      { type: 'repository', name: 'blue/lib', actions: ['pull', 'push'] },
    ]);
  });

  it('never returns a refresh token unless asked (P15)', async () => {
    const idToken = await issuer.mint({ team: 'blue' });
    const res = await fetch(`${a.url}/token?service=${SERVICE}&scope=repository:blue/app:pull`, { headers: { authorization: basic('ci', idToken) } });
    expect(res.status).toBe(200);
    expect(await json(res)).not.toHaveProperty('refresh_token');
  });

  it('binds the refresh token to its service and refuses unknown tokens', async () => {
    const token = (await json(await login(a, await issuer.mint({ team: 'blue' })))).refresh_token as string;
    const other = await refresh(b, token, '', 'other-registry');
    expect(other.status).toBe(401);
    expect(await json(other)).toMatchObject({ errors: [{ code: 'UNAUTHORIZED' }] });
    expect((await refresh(b, `pcr_${'x'.repeat(43)}`, '')).status).toBe(401);
  });

  it('re-evaluates the current policy on each refresh', async () => {
    const token = (await json(await login(a, await issuer.mint({ team: 'blue' })))).refresh_token as string;
    const before = await json(await refresh(a, token, 'repository:blue/app:push'));
    expect(accessOf(before)).toEqual([{ type: 'repository', name: 'blue/app', actions: ['push'] }]);
    await writeFile(path.join(a.dir, 'policy.yaml'), stringify(policy('blue/only-this')));
    expect((await a.broker.reloadPolicy()).ok).toBe(true);
    try {
      const after = await json(await refresh(a, token, 'repository:blue/app:push'));
      expect(accessOf(after)).toEqual([{ type: 'repository', name: 'blue/app', actions: [] }]);
    } finally {
      await writeFile(path.join(a.dir, 'policy.yaml'), stringify(policy('blue/**')));
      await a.broker.reloadPolicy();
    }
  });

  it('an exchanged ID token is single use across brokers', async () => {
    const idToken = await issuer.mint({ team: 'blue' });
    const first = await exchange(a, idToken, 'repository:blue/app:pull');
    expect(first.status).toBe(200);
    const body = await json(first);
    expect(body.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
    expect(body.refresh_token).toMatch(/^pcr_/);
    expect(accessOf(body)).toEqual([{ type: 'repository', name: 'blue/app', actions: ['pull'] }]);

    const again = await exchange(b, idToken, 'repository:blue/app:pull');
    expect(again.status).toBe(401);
    expect(JSON.stringify(await json(again))).toMatch(/already used/);
    // The refresh token it produced works at the other broker.
    expect((await refresh(b, body.refresh_token as string, 'repository:blue/app:pull')).status).toBe(200);
  });

  it('refuses an exchange with a wrong subject_token_type', async () => {
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT, service: SERVICE, subject_token: await issuer.mint({ team: 'blue' }),
      subject_token_type: 'urn:ietf:params:oauth:token-type:saml2',
    });
    const res = await fetch(`${a.url}/token`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
  });

  it('a revocation at one broker takes effect at the other', async () => {
    const token = (await json(await login(a, await issuer.mint({ team: 'blue' }, { subject: 'revoke-me' })))).refresh_token as string;
    expect((await refresh(b, token, '')).status).toBe(200);

    const unauth = await fetch(`${a.url}/admin/sessions?subject=revoke-me`, { headers: { authorization: 'Bearer wrong' } });
    expect(unauth.status).toBe(401);
    const listed = await json(await fetch(`${a.url}/admin/sessions?subject=revoke-me`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    expect(listed.sessions).toMatchObject([{ subject: 'revoke-me', issuerId: 'test', service: SERVICE, kind: 'workload', origin: 'login' }]);
    expect(JSON.stringify(listed)).not.toContain(token);

    const revoked = await fetch(`${a.url}/admin/sessions/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: 'revoke-me' }),
    });
    expect(await json(revoked)).toEqual({ revoked: 1 });
    expect((await refresh(b, token, '')).status).toBe(401);
  });

  it('reports the store in /readyz (the public one says ok or failing, nothing more)', async () => {
    const res = await fetch(`${b.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ status: 'ready', checks: { store: 'ok' } });
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After per identity, in registry format', async () => {
    const limited = await brokerOn(redis.url, { rateLimits: { perIdentity: { points: 2, durationSec: 30 } } });
    try {
      const idToken = await issuer.mint({ team: 'blue' }, { subject: 'greedy' });
      const get = () => fetch(`${limited.url}/token?service=${SERVICE}`, { headers: { authorization: basic('ci', idToken) } });
      expect((await get()).status).toBe(200);
      expect((await get()).status).toBe(200);
      const res = await get();
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await json(res)).toMatchObject({ errors: [{ code: 'TOO_MANY_REQUESTS' }] });
    } finally {
      await limited.stop();
    }
  });
});

describe('Redis outage', () => {
  it('answers 503 within a second where the store is needed, keeps plain GETs working, and heals by itself', async () => {
    const loginBody = await json(await login(a, await issuer.mint({ team: 'blue' }, { subject: 'outage' })));
    const token = loginBody.refresh_token as string;
    await redis.kill();
    try {
      // Give the clients a moment to see the closed connection (a kill is noticed at once on loopback).
      await new Promise((r) => setTimeout(r, 200));
      for (const broker of [a, b]) {
        const started = performance.now();
        const res = await refresh(broker, token, 'repository:blue/app:pull');
        const elapsed = performance.now() - started;
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(await json(res)).toMatchObject({ errors: [{ code: 'UNAVAILABLE' }] });
        expect(elapsed).toBeLessThan(1000);
      }
      // No single-use check possible → no token.
      const started = performance.now();
      const ex = await exchange(b, await issuer.mint({ team: 'blue' }), '');
      expect(ex.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(1000);
      // Offline login needs the store too.
      expect((await login(a, await issuer.mint({ team: 'blue' }))).status).toBe(503);
      // A plain ID-token GET does not: rate limits fail open.
      const plain = await fetch(`${a.url}/token?service=${SERVICE}&scope=repository:blue/app:pull`, {
        headers: { authorization: basic('ci', await issuer.mint({ team: 'blue' })) },
      });
      expect(plain.status).toBe(200);
      expect((await fetch(`${a.url}/readyz`)).status).toBe(503);
    } finally {
      await redis.restart();
    }
    // Recovery without restarting the brokers (reconnect back-off is at most ~2 s).
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await refresh(b, token, 'repository:blue/app:pull')).status;
      if (status !== 503) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The data died with the process (no persistence in tests): the token is unknown now, but the store answers.
    expect(status).toBe(401);
    const fresh = (await json(await login(a, await issuer.mint({ team: 'blue' })))).refresh_token as string;
    expect((await refresh(b, fresh, '')).status).toBe(200);
    expect((await fetch(`${b.url}/readyz`)).status).toBe(200);
  }, 30_000);
});

describe('hung Redis', () => {
  it('answers 503 within a second while Redis accepts connections but never replies', async () => {
    const token = (await json(await login(a, await issuer.mint({ team: 'blue' })))).refresh_token as string;
    redis.pause();
    try {
      const started = performance.now();
      const res = await refresh(a, token, 'repository:blue/app:pull');
      expect(res.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      redis.resume();
    }
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await refresh(a, token, '')).status) === 503) await new Promise((r) => setTimeout(r, 200));
    expect(status).toBe(200);
  }, 20_000);
});

describe('memory store', () => {
  it('does not hand out refresh tokens unless enabled explicitly (P15: they would die with the process)', async () => {
    const local = await startBroker({
      issuers: [{ id: 'test', issuer: issuer.issuer, audiences: ['portcullis'], clockSkew: 0 }],
      policy: policy('blue/**'),
      services: [SERVICE],
      logLevel: 'warn',
    });
    try {
      const res = await login(local, await issuer.mint({ team: 'blue' }));
      expect(res.status).toBe(200);
      expect(await json(res)).not.toHaveProperty('refresh_token');
      const grant = await refresh(local, `pcr_${'a'.repeat(43)}`, '');
      expect(grant.status).toBe(400);
      expect(await json(grant)).toMatchObject({ errors: [{ code: 'UNSUPPORTED' }] });
      expect(local.broker.summary.join('\n')).toMatch(/refresh tokens: off/);
      // The admin endpoint is off unless configured.
      expect((await fetch(`${local.url}/admin/sessions`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(404);
    } finally {
      await local.stop();
    }
  });
});
