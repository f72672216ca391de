/**
 * /token is answered on node:http ahead of Koa when its target is plain `/token?…`; an
 * absolute-form target (what a proxy sends) goes through the Koa app and its /token routes.
 * Both must give the same answer, header for header: the Koa path is the reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../../helpers/issuer.js';
import { basic, decodeJwt, startBroker, type TestBroker } from '../../helpers/broker.js';
import { rawRequest, type RawResponse } from '../../helpers/raw-http.js';

const SERVICE = 'test-registry';
let issuer: TestIssuer;
let broker: TestBroker;
let idToken: string;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  broker = await startBroker({
    issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: ['portcullis'] }],
    policy: {
      version: 1,
      rules: [{ id: 'team', effect: 'allow', issuer: issuer.issuer, grants: [{ repository: 'team/**', actions: ['pull', 'push'] }] }],
    },
    services: [SERVICE],
    logLevel: 'silent',
    extra: { store: { type: 'memory' }, sessions: { refreshTokens: { enabled: true } } },
  });
  idToken = await issuer.mint({}, { subject: 'ci' });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
});

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'HEAD';
  /** Origin-form path and query. */
  target: string;
  /** Built when the case runs: the ID token is minted in beforeAll, after the cases are collected. */
  headers?: () => string[];
  body?: () => string;
}

const request = (c: Case, absolute: boolean): Promise<RawResponse> => {
  const host = `127.0.0.1:${broker.port}`;
  const body = c.body?.() ?? '';
  const lines = [
    `${c.method} ${absolute ? `http://${host}${c.target}` : c.target} HTTP/1.1`,
    `Host: ${host}`,
    ...(c.headers?.() ?? []),
    ...(c.method === 'POST' ? [`Content-Length: ${Buffer.byteLength(body)}`] : []),
    'Connection: close',
  ];
  return rawRequest(broker.port, `${lines.join('\r\n')}\r\n\r\n${body}`);
};

/** What must not differ between the two paths (the token itself and the decision id always do). */
function shape(res: RawResponse): object {
  const h = res.headers;
  const body = res.body === '' ? '' : (JSON.parse(res.body) as Record<string, unknown>);
  const token = typeof body === 'object' && typeof body.token === 'string' ? decodeJwt(body.token).payload.access : undefined;
  return {
    status: res.status,
    contentType: h['content-type'],
    cacheControl: h['cache-control'],
    pragma: h['pragma'],
    challenge: h['www-authenticate'],
    retryAfter: h['retry-after'],
    decision: h['x-portcullis-decision'] === undefined ? 'absent' : 'present',
    // A token's length varies with its claims; an error body's does not.
    length: token === undefined ? h['content-length'] : 'token',
    body: typeof body === 'object' && token !== undefined ? { ...body, token: 'T', access_token: 'T', issued_at: 'I', refresh_token: body.refresh_token === undefined ? undefined : 'R', access: token } : body,
  };
}

const auth = (): string => `Authorization: ${basic('ci', idToken)}`;
const scope = (s: string): string => `/token?service=${SERVICE}&scope=${encodeURIComponent(s)}`;

describe('the /token fast path answers exactly what the Koa route answers', () => {
  const cases = (): Case[] => [
    { name: 'a granted pull', method: 'GET', target: scope('repository:team/app:pull'), headers: () => [auth()] },
    { name: 'docker login (no scope) with an offline token', method: 'GET', target: `/token?service=${SERVICE}&offline_token=true&client_id=docker`, headers: () => [auth()] },
    { name: 'a scope outside the policy (200, empty access)', method: 'GET', target: scope('repository:other/app:push'), headers: () => [auth()] },
    { name: 'no credential (401)', method: 'GET', target: scope('repository:team/app:pull') },
    { name: 'a Bearer header (401)', method: 'GET', target: scope('repository:team/app:pull'), headers: () => ['Authorization: Bearer x'] },
    { name: 'a forged token (401)', method: 'GET', target: scope('repository:team/app:pull'), headers: () => [`Authorization: ${basic('ci', `${idToken.slice(0, -4)}AAAA`)}`] },
    { name: 'a malformed scope (400)', method: 'GET', target: scope('repository:Team/app:pull'), headers: () => [auth()] },
    { name: 'an unknown service (400)', method: 'GET', target: '/token?service=nope&scope=repository:team/app:pull', headers: () => [auth()] },
    { name: 'a repeated parameter (400)', method: 'GET', target: `/token?service=${SERVICE}&service=${SERVICE}`, headers: () => [auth()] },
    { name: 'HEAD of a granted pull', method: 'HEAD', target: scope('repository:team/app:pull'), headers: () => [auth()] },
    {
      name: 'a password grant',
      method: 'POST',
      target: '/token',
      headers: () => ['Content-Type: application/x-www-form-urlencoded'],
      body: () => new URLSearchParams({ grant_type: 'password', service: SERVICE, client_id: 'skopeo', username: 'ci', password: idToken, scope: 'repository:team/app:pull' }).toString(),
    },
    { name: 'a POST that is not a form (415)', method: 'POST', target: '/token', headers: () => ['Content-Type: application/json'], body: () => '{}' },
    { name: 'a POST without grant_type (400)', method: 'POST', target: '/token', headers: () => ['Content-Type: application/x-www-form-urlencoded'], body: () => `service=${SERVICE}` },
    {
      name: 'a refresh token in the query string (400)',
      method: 'POST',
      target: '/token?refresh_token=x',
      headers: () => ['Content-Type: application/x-www-form-urlencoded'],
      body: () => `grant_type=refresh_token&service=${SERVICE}`,
    },
  ];

  it.each(cases().map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const fast = await request(c, false);
    const koa = await request(c, true);
    expect(fast.error).toBeUndefined();
    expect(shape(fast)).toEqual(shape(koa));
    // What every /token answer carries, whichever path wrote it (the comparison alone cannot see
    // a header both paths lost).
    for (const res of [fast, koa]) {
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['pragma']).toBe('no-cache');
      expect(res.headers['www-authenticate'] !== undefined).toBe(res.status === 401);
      if (res.status === 401) expect(res.headers['www-authenticate']).toBe('Basic realm="portcullis", charset="UTF-8"');
      if (res.status === 200) expect(res.headers['x-portcullis-decision']).toMatch(/^[A-Za-z0-9_-]{8,}$/);
      if (c.method !== 'HEAD') expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    }
    if (c.method === 'HEAD') {
      expect(fast.status).toBe(200);
      expect(fast.body).toBe('');
      expect(Number(fast.headers['content-length'])).toBeGreaterThan(100);
    }
  });

  it('a granted pull really is granted on both paths', async () => {
    for (const absolute of [false, true]) {
      const res = await request({ name: '', method: 'GET', target: scope('repository:team/app:pull'), headers: () => [auth()] }, absolute);
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body) as { token: string };
      expect(decodeJwt(body.token).payload.access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    }
  });

  it('other methods and near-miss paths are left to Koa', async () => {
    const put = await rawRequest(broker.port, `PUT /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expect(put.status).toBe(404);
    expect(JSON.parse(put.body)).toMatchObject({ errors: [{ code: 'INVALID_REQUEST', message: 'no route for PUT "/token"' }] });
    const nearMiss = await rawRequest(broker.port, `GET /tokens?service=${SERVICE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(nearMiss.status).toBe(404);
    const badHost = await rawRequest(broker.port, `GET ${scope('repository:team/app:pull')} HTTP/1.1\r\nHost: a b\r\n${auth()}\r\nConnection: close\r\n\r\n`);
    expect(badHost.status).toBe(400);
    expect(JSON.parse(badHost.body)).toMatchObject({ errors: [{ message: 'malformed Host header' }] });
  });
});
