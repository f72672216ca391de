import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { basic, startBroker, type TestBroker } from '../../helpers/broker.js';
import { TestIssuer } from '../../helpers/issuer.js';

let issuer: TestIssuer;
let broker: TestBroker;
let secrets: string;

beforeAll(async () => {
  secrets = await mkdtemp(path.join(tmpdir(), 'portcullis-rl-'));
  await writeFile(path.join(secrets, 'admin'), 'adm_refresh_lifetime_test_token_0001');
  issuer = await TestIssuer.start();
  broker = await startBroker({
    issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: ['aud'] }],
    policy: {
      version: 1,
      rules: [{ id: 'capped', effect: 'allow', issuer: issuer.issuer, grants: [{ repository: 'app/**', actions: ['pull', 'push'] }], refreshLifetime: 120 }],
    },
    extra: {
      admin: { enabled: true, token: { file: path.join(secrets, 'admin') } },
      sessions: { refreshTokens: { enabled: true } },
    },
  });
});
afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await rm(secrets, { recursive: true, force: true });
});

it("a rule's refreshLifetime caps the session opened by docker login", async () => {
  const res = await fetch(`${broker.url}/token?service=test-registry&offline_token=true&client_id=docker`, {
    headers: { authorization: basic('oidc', await issuer.mint({}, { audience: 'aud', subject: 'ci-job' })) },
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { refresh_token?: string }).refresh_token).toMatch(/^pcr_/);
  const list = await fetch(`${broker.url}/admin/sessions?subject=ci-job`, { headers: { authorization: 'Bearer adm_refresh_lifetime_test_token_0001' } });
  const { sessions } = (await list.json()) as { sessions: { createdAt: string; expiresAt: string; rules: string[] }[] };
  expect(sessions).toHaveLength(1);
  expect(sessions[0]?.rules).toEqual(['capped']);
  expect(Date.parse(sessions[0]!.expiresAt) - Date.parse(sessions[0]!.createdAt)).toBe(120_000);
});
