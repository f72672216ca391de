/**
 * Request parsing at the edge, over raw sockets (node:net): requests no HTTP client
 * library would send. Parameters come from the request target only (never from a
 * URL assembled with the Host header); an unparsable Host or target is a 400 in the
 * registry error format; oversized heads get a 431 the client can read; credentials
 * are never taken from a POST's query string.
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
