/**
 * Request parsing at the edge, over raw sockets (node:net): requests no HTTP client
 * library would send. Parameters come from the request target only (never from a
 * URL assembled with the Host header); an unparsable Host or target is a 400 in the
 * registry error format; oversized heads get a 431 the client can read; credentials
 * are never taken from a POST's query string. /token answers the same whether node:http or
 * the Koa route took the request.
 */
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../../helpers/issuer.js';
import { basic, decodeJwt, startBroker, type TestBroker } from '../../helpers/broker.js';
import { rawRequest, type RawResponse } from '../../helpers/raw-http.js';
import { parseGetRequest } from '../../../src/http/token-request.js';

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

const head = (lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`;

function expectRegistryError(res: RawResponse, status: number): { code: string; message: string } {
  expect(res.error).toBeUndefined();
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { errors: { code: string; message: string }[] };
  expect(body.errors).toHaveLength(1);
  return body.errors[0] as { code: string; message: string };
}

describe('parameters come from the request target only', () => {
  const query = `/token?service=${SERVICE}&scope=repository:team/app:pull`;

  it('a Host header carrying a query is refused, never merged into the request', async () => {
    for (const host of [`x?service=${SERVICE}&scope=repository:team/app:push#`, 'x?offline_token=true#', `x/token?service=${SERVICE}&scope=repository:team/app:push&offline_token=true#`]) {
      const res = await rawRequest(broker.port, head([`GET ${query} HTTP/1.1`, `Host: ${host}`, `Authorization: ${basic('ci', idToken)}`, 'Connection: close']));
      const err = expectRegistryError(res, 400);
      expect(err.message).toMatch(/Host/);
      expect(res.body).not.toContain('token"');
    }
  });

  it('with a proper Host the answer is exactly what the query asked for', async () => {
    const res = await rawRequest(broker.port, head([`GET ${query} HTTP/1.1`, `Host: 127.0.0.1:${broker.port}`, `Authorization: ${basic('ci', idToken)}`, 'Connection: close']));
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { token: string; refresh_token?: string };
    expect(decodeJwt(body.token).payload.access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    expect(body.refresh_token).toBeUndefined();
  });

  it('the token request parser ignores the Host header even without the guard in front', async () => {
    // A bare Koa app with only the parser: what it reads is what the handler would use.
    const app = new Koa();
    app.use((ctx) => {
      const r = parseGetRequest(ctx.req.url ?? '', ctx.get('authorization') || undefined, '127.0.0.1');
      ctx.body = { service: r.service, scopes: r.scopes, offline: r.offline };
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await rawRequest(
        port,
        head([`GET ${query} HTTP/1.1`, `Host: x?service=evil&scope=repository:team/app:push&offline_token=true#`, 'Connection: close']),
      );
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ service: SERVICE, scopes: ['repository:team/app:pull'], offline: false });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('unparsable Host headers and request targets', () => {
  const hosts = ['[', ']', '[::1', '127.0.0.1:99999', '127.0.0.1:abc', 'a b', '%', '<', 'exa mple.com', '[::g]'];
  for (const host of hosts) {
    it(`Host: ${JSON.stringify(host)} is a 400 in the registry error format`, async () => {
      const res = await rawRequest(broker.port, head([`GET /token?service=${SERVICE} HTTP/1.1`, `Host: ${host}`, 'Connection: close']));
      expect(expectRegistryError(res, 400).code).toBe('INVALID_REQUEST');
    });
  }

  const targets = ['http://[/token', 'http://[::1/token?service=x', 'https://%/token', '*', 'token', '//evil.example/token'];
  for (const target of targets) {
    it(`target ${JSON.stringify(target)} is a 400 in the registry error format`, async () => {
      const res = await rawRequest(broker.port, head([`GET ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']));
      expect(expectRegistryError(res, 400).code).toBe('INVALID_REQUEST');
    });
  }

  it('a well-formed absolute-form target is served like its origin form', async () => {
    const res = await rawRequest(
      broker.port,
      head([`GET http://127.0.0.1:${broker.port}/token?service=${SERVICE}&scope=repository:team/app:pull HTTP/1.1`, 'Host: 127.0.0.1', `Authorization: ${basic('ci', idToken)}`, 'Connection: close']),
    );
    expect(res.status).toBe(200);
  });

  it('a path that does not decode is a 4xx in the registry format, not a 500', async () => {
    const res = await rawRequest(broker.port, head(['GET /token%zz?service=x HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close']));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.parse(res.body)).toHaveProperty('errors');
  });
});

describe('request head size', () => {
  const padded = (bytes: number): string =>
    head([`GET /token?service=${SERVICE} HTTP/1.1`, 'Host: 127.0.0.1', `X-Pad: ${'a'.repeat(bytes)}`, 'Connection: close']);

  it('a head within server.maxHeaderBytes (default 32 KiB) is served', async () => {
    const res = await rawRequest(broker.port, padded(20 * 1024));
    expect(res.status).toBe(200);
  });

  for (const kb of [42, 93]) {
    it(`a ${kb} KB head gets a readable 431 in the registry format, not a connection reset`, async () => {
      for (let i = 0; i < 5; i += 1) {
        const err = expectRegistryError(await rawRequest(broker.port, padded(kb * 1024)), 431);
        expect(err.message).toMatch(/32768 bytes/);
      }
    });
  }
});

describe('POST /token credentials', () => {
  for (const field of ['password', 'subject_token', 'refresh_token']) {
    it(`"${field}" in the query string is refused with a 400 naming it`, async () => {
      const res = await fetch(`${broker.url}/token?${field}=secret-value`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', service: SERVICE, username: 'ci', password: idToken }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { errors: { message: string }[] };
      expect(body.errors[0]?.message).toContain(`"${field}"`);
      expect(body.errors[0]?.message).toMatch(/body/);
    });
  }

  it('the same fields in the body work, and other query parameters are still merged', async () => {
    const res = await fetch(`${broker.url}/token?service=${SERVICE}&scope=repository:team/app:pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'ci', password: idToken }),
    });
    expect(res.status).toBe(200);
  });
});

/*
 * /token is answered on node:http ahead of Koa when its target is plain `/token?…`; an
 * absolute-form target (what a proxy sends) goes through the Koa app and its /token routes.
 * Both must give the same answer, header for header: the Koa path is the reference.
 */
interface Case {
  name: string;
  method: 'GET' | 'POST' | 'HEAD';
  /** Origin-form path and query. */
  target: string;
  /** Built when the case runs: the ID token is minted in beforeAll, after the cases are collected. */
  headers?: () => string[];
  body?: () => string;
}

const sendCase = (c: Case, absolute: boolean): Promise<RawResponse> => {
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
    const fast = await sendCase(c, false);
    const koa = await sendCase(c, true);
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
      const res = await sendCase({ name: '', method: 'GET', target: scope('repository:team/app:pull'), headers: () => [auth()] }, absolute);
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
