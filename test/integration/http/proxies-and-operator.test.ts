/**
 * Client addresses behind trusted proxies (X-Forwarded-For read from the right), and
 * the operator listener that keeps /metrics, /admin/* and health details off the
 * public port.
 */
import path from 'node:path';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, startBroker, type TestBroker } from '../../helpers/broker.js';
import { freePort } from '../../helpers/ports.js';
import { parseConfig, ConfigError } from '../../../src/config/index.js';

const SERVICE = 'test-registry';
const officePolicy = {
  version: 1,
  rules: [{ id: 'office', effect: 'allow', anonymous: true, clientIp: ['198.51.100.0/24'], grants: [{ repository: 'office/**', actions: ['pull'] }] }],
};

async function accessFor(broker: TestBroker, forwardedFor: string): Promise<unknown> {
  const res = await fetch(`${broker.url}/token?service=${SERVICE}&scope=repository:office/app:pull`, { headers: { 'x-forwarded-for': forwardedFor } });
  expect(res.status).toBe(200);
  return decodeJwt(((await res.json()) as { token: string }).token).payload.access;
}

const granted = [{ type: 'repository', name: 'office/app', actions: ['pull'] }];
const refused = [{ type: 'repository', name: 'office/app', actions: [] }];

describe('trusted proxies', () => {
  let hops: TestBroker;
  let cidrs: TestBroker;
  beforeAll(async () => {
    hops = await startBroker({ policy: officePolicy, services: [SERVICE], logLevel: 'info', server: { trustedProxies: { hops: 1 } } });
    cidrs = await startBroker({
      policy: officePolicy,
      services: [SERVICE],
      logLevel: 'warn',
      server: { trustedProxies: { cidrs: ['127.0.0.1/32', '10.0.0.0/8'] } },
    });
  });
  afterAll(async () => {
    await hops?.stop();
    await cidrs?.stop();
  });

  it('a spoofed leftmost X-Forwarded-For entry does not choose the client address (hops)', async () => {
    // The client wrote 198.51.100.7; the proxy appended the address it really saw.
    expect(await accessFor(hops, '198.51.100.7, 10.9.9.9')).toEqual(refused);
    expect(await accessFor(hops, '10.9.9.9')).toEqual(refused);
    expect(await accessFor(hops, '198.51.100.7')).toEqual(granted);
    const audit = hops.logs.map((l) => JSON.parse(l) as { audit?: { clientIp?: string } }).filter((l) => l.audit);
    expect(audit.map((l) => l.audit?.clientIp)).toEqual(['10.9.9.9', '10.9.9.9', '198.51.100.7']);
  });

  it('CIDRs: walks through trusted proxies only, and the spoofed entry beyond them is ignored', async () => {
    expect(await accessFor(cidrs, '6.6.6.6, 198.51.100.7, 10.1.2.3')).toEqual(granted);
    expect(await accessFor(cidrs, '198.51.100.7, 203.0.113.5, 10.1.2.3')).toEqual(refused);
  });

  it('trustProxy: true is a configuration error that names the replacement', () => {
    expect(() => parseConfig({ server: { trustProxy: true } })).toThrow(ConfigError);
    expect(() => parseConfig({ server: { trustProxy: true } })).toThrow(/server\.trustProxy: replaced by server\.trustedProxies/);
    expect(parseConfig({ server: { trustProxy: false } }).server.trustedProxies).toBeUndefined();
    expect(() => parseConfig({ server: { trustedProxies: { cidrs: ['10.0.0.0/33'] } } })).toThrow(/IP address or CIDR/);
  });
});

describe('operator listener', () => {
  let broker: TestBroker;
  let operatorPort: number;
  let secrets: string;
  beforeAll(async () => {
    operatorPort = await freePort();
    secrets = await mkdtemp(path.join(tmpdir(), 'portcullis-operator-'));
    await writeFile(path.join(secrets, 'admin'), 'operator-secret-0123456789abcdef', { mode: 0o600 });
    broker = await startBroker({
      policy: officePolicy,
      services: [SERVICE],
      logLevel: 'silent',
      server: { operator: { host: '127.0.0.1', port: operatorPort } },
      extra: {
        // Nothing listens there: the store stays unavailable and /readyz fails with an internal error text.
        store: { type: 'redis', url: `redis://127.0.0.1:${await freePort()}`, commandTimeoutMs: 200 },
        admin: { enabled: true, token: { file: path.join(secrets, 'admin') } },
      },
    });
  });
  afterAll(async () => {
    await broker?.stop();
    await rm(secrets, { recursive: true, force: true });
  });

  it('the public /readyz says which check fails, never its error text', async () => {
    const res = await fetch(`${broker.url}/readyz`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: 'not ready', checks: { store: 'failing' } });
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|redis/i);
  });

  it('the operator /readyz has the detail', async () => {
    const res = await fetch(`http://127.0.0.1:${operatorPort}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { store: string } };
    expect(body.checks.store).toMatch(/^redis /);
    expect(body.checks.store.length).toBeGreaterThan('redis unavailable'.length);
  });

  it('/metrics and /admin/* are served on the operator port only', async () => {
    expect((await fetch(`${broker.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${broker.url}/admin/sessions`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${operatorPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('portcullis_');
    expect((await fetch(`http://127.0.0.1:${operatorPort}/admin/sessions`)).status).toBe(401);
    // The token endpoint is not on the operator port.
    expect((await fetch(`http://127.0.0.1:${operatorPort}/token?service=${SERVICE}`)).status).toBe(404);
  });
});
