/**
 * The device flow's polling rules (RFC 8628 §3.4-3.5) against a scripted loopback token endpoint:
 * the announced interval, +5 s per slow_down, and an end on expired_token, access_denied or the
 * code's own expiry. Waits are recorded instead of slept.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceLogin } from '../../../src/client/flows.js';
import type { LoginEndpoints } from '../../../src/client/discovery.js';

interface Scripted {
  endpoints: LoginEndpoints;
  polls: URLSearchParams[];
  close(): Promise<void>;
}

let server: Scripted | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function scripted(device: Record<string, unknown>, answers: { status: number; body: unknown }[]): Promise<Scripted> {
  const polls: URLSearchParams[] = [];
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const send = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/login/device/code') return send(200, device);
      polls.push(form);
      const next = answers.shift() ?? { status: 400, body: { error: 'authorization_pending' } };
      send(next.status, next.body);
    });
  });
  await new Promise<void>((resolve) => http.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    endpoints: { authorization: `${base}/login/cli`, deviceAuthorization: `${base}/login/device/code`, token: `${base}/login/token`, revocation: `${base}/login/revoke`, providers: [] },
    polls,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}

const DEVICE = { device_code: 'dc-1', user_code: 'BDWP-HQPK', verification_uri: 'http://127.0.0.1/device', expires_in: 600, interval: 3 };
const GRANT = { refresh_token: 'pcr_x', token_type: 'refresh', expires_in: 3600, service: 'svc', subject: 'alice' };
const pending = { status: 400, body: { error: 'authorization_pending' } };

function clock(): { now: () => number; sleep: (ms: number) => Promise<void>; waits: number[] } {
  let t = 1_000_000;
  const waits: number[] = [];
  return { now: () => t, sleep: async (ms) => void (waits.push(ms), (t += ms)), waits };
}

describe('device flow polling', () => {
  it('polls at the announced interval, adds 5 s for every slow_down, and returns the grant on approval', async () => {
    server = await scripted(DEVICE, [pending, { status: 400, body: { error: 'slow_down' } }, pending, { status: 400, body: { error: 'slow_down' } }, { status: 200, body: GRANT }]);
    const c = clock();
    const lines: string[] = [];
    const grant = await deviceLogin(server.endpoints, { say: (l) => lines.push(l), sleep: c.sleep, now: c.now });
    expect(grant.refresh_token).toBe('pcr_x');
    expect(c.waits).toEqual([3000, 3000, 8000, 8000, 13000]);
    expect(server.polls.map((p) => [p.get('grant_type'), p.get('device_code'), p.get('client_id')])).toEqual(
      Array(5).fill(['urn:ietf:params:oauth:grant-type:device_code', 'dc-1', 'portcullis-cli']),
    );
    expect(lines.join('\n')).toContain('BDWP-HQPK');
  });

  it('defaults to 5 s when no interval is announced', async () => {
    const { interval: _omit, ...noInterval } = DEVICE;
    server = await scripted(noInterval, [{ status: 200, body: GRANT }]);
    const c = clock();
    await deviceLogin(server.endpoints, { say: () => undefined, sleep: c.sleep, now: c.now });
    expect(c.waits).toEqual([5000]);
  });

  it('access_denied and expired_token end the flow with a clear message', async () => {
    server = await scripted(DEVICE, [pending, { status: 400, body: { error: 'access_denied' } }]);
    const c = clock();
    await expect(deviceLogin(server.endpoints, { say: () => undefined, sleep: c.sleep, now: c.now })).rejects.toThrow('the sign-in was refused in the browser');
    await server.close();
    server = await scripted(DEVICE, [{ status: 400, body: { error: 'expired_token' } }]);
    await expect(deviceLogin(server.endpoints, { say: () => undefined, sleep: c.sleep, now: c.now })).rejects.toThrow(/device code expired/);
  });

  it('stops polling once the code has expired, even if the broker keeps saying pending', async () => {
    server = await scripted({ ...DEVICE, expires_in: 10 }, []);
    const c = clock();
    await expect(deviceLogin(server.endpoints, { say: () => undefined, sleep: c.sleep, now: c.now })).rejects.toThrow(/device code expired/);
    expect(server.polls.length).toBe(3);
  });

  it('an unexpected error names the OAuth code', async () => {
    server = await scripted(DEVICE, [{ status: 401, body: { error: 'invalid_client', error_description: 'unknown client' } }]);
    const c = clock();
    await expect(deviceLogin(server.endpoints, { say: () => undefined, sleep: c.sleep, now: c.now })).rejects.toThrow(
      'the device sign-in was refused (401 invalid_client): unknown client',
    );
  });
});
