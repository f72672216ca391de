/**
 * Refresh tokens end to end: a login returns a refresh token, the ID token
 * expires, and the real skopeo — with the refresh token as `identitytoken` in its
 * auth file, i.e. the OAuth2 POST refresh flow — still pushes to the real
 * distribution 2.8 registry. After `portcullis sessions revoke` it no longer can.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../helpers/issuer.js';
import { basic, startBroker, type TestBroker } from '../helpers/broker.js';
import { startRegistryFor, type RunningRegistry } from '../helpers/registry.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { copyFromRegistry, copyToRegistry, inspectDigest, writeAuthFile } from '../helpers/skopeo.js';
import { runCli } from '../helpers/cli.js';

const SERVICE = 'e2e-registry';
const AUD = 'https://portcullis.e2e';
const ID_TOKEN_LIFETIME_SEC = 3;

describe('skopeo on a refresh token after the ID token expired', () => {
  let redis: RedisServer;
  let issuer: TestIssuer;
  let broker: TestBroker;
  let registry: RunningRegistry;
  let image: OciImage;
  let work: string;
  let authFile: string;
  let refreshToken: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-refresh-'));
    redis = await startRedis();
    issuer = await TestIssuer.start();
    broker = await startBroker({
      // Skew 0: the short-lived ID token must really be expired when the push runs.
      issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD], clockSkew: 0 }],
      policy: {
        version: 1,
        rules: [{ id: 'builders', effect: 'allow', issuer: issuer.issuer, when: { team: 'build' }, grants: [{ repository: 'team/**', actions: ['pull', 'push'] }] }],
      },
      services: [SERVICE],
      extra: { store: { type: 'redis', url: redis.url, keyPrefix: 'e2e:' } },
    });
    registry = await startRegistryFor(broker, SERVICE);
    image = await buildOciImage(path.join(work, 'image'), { files: { 'hello.txt': 'refreshed\n' }, tag: 'v1' });
    authFile = path.join(work, 'auth', 'auth.json');
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    await broker?.stop();
    await issuer?.close();
    await redis?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a login with offline_token=true returns a refresh token; the ID token then expires', async () => {
    const idToken = await issuer.mint({ team: 'build' }, { audience: AUD, subject: 'ci-job', lifetimeSeconds: ID_TOKEN_LIFETIME_SEC });
    // What `docker login` sends.
    const res = await fetch(`${broker.url}/token?account=oidc&client_id=docker&offline_token=true&service=${SERVICE}`, {
      headers: { authorization: basic('oidc', idToken) },
    });
    expect(res.status).toBe(200);
    refreshToken = ((await res.json()) as { refresh_token: string }).refresh_token;
    expect(refreshToken).toMatch(/^pcr_[A-Za-z0-9_-]{43}$/);

    await sleep((ID_TOKEN_LIFETIME_SEC + 1) * 1000);
    const direct = await fetch(`${broker.url}/token?service=${SERVICE}`, { headers: { authorization: basic('oidc', idToken) } });
    expect(direct.status).toBe(401);
    expect(await direct.text()).toMatch(/expired/);
  });

  it('skopeo pushes and pulls with the refresh token as identitytoken (POST refresh flow)', async () => {
    await writeAuthFile(authFile, registry.host, { identityToken: refreshToken });
    const pushed = await copyToRegistry(image.ref, registry.host, 'team/app', 'v1', undefined, { authFile });
    expect(pushed.code, `${pushed.stderr}\n${broker.logs.slice(-5).join('\n')}`).toBe(0);
    expect(pushed.digest).toBe(image.manifestDigest);

    // The broker saw skopeo's POST refresh grant, never the token itself in a log line.
    const refreshes = broker.logs.filter((l) => l.includes('"grant":"refresh_token"') && l.includes('token issued'));
    expect(refreshes.length).toBeGreaterThan(0);
    expect(broker.logs.join('\n')).not.toContain(refreshToken.slice(4));

    const back = path.join(work, 'pulled');
    const pulled = await copyFromRegistry(registry.host, 'team/app', 'v1', back, 'v1', undefined, { authFile });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(await inspectDigest(`oci:${back}:v1`)).toBe(image.manifestDigest);
  });

  it('after `portcullis sessions revoke`, the refresh token is refused and skopeo cannot push', async () => {
    const revoked = await runCli(['sessions', 'revoke', '--token-stdin', '--config', broker.configPath], { input: `${refreshToken}\n` });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/revoked 1 session/);

    const refused = await copyToRegistry(image.ref, registry.host, 'team/app', 'v2', undefined, { authFile });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/401|unauthorized|revoked/i);
    expect(broker.logs.some((l) => l.includes('"grant":"refresh_token"') && l.includes('token refused'))).toBe(true);
  });
});
