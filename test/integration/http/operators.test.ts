import { writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, startBroker, type TestBroker } from '../../helpers/broker.js';
import { TestIssuer } from '../../helpers/issuer.js';

const ADMIN = 'adm_0123456789abcdef0123456789abcdef';
let issuer: TestIssuer;
let broker: TestBroker;
let secrets: string;

beforeAll(async () => {
  secrets = await mkdtemp(path.join(tmpdir(), 'portcullis-admin-'));
  await writeFile(path.join(secrets, 'admin'), `${ADMIN}\n`, { mode: 0o600 });
  issuer = await TestIssuer.start();
  broker = await startBroker({
    issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: ['aud'] }],
    policy: {
      version: 1,
      rules: [
        { id: 'web-team', effect: 'allow', issuer: issuer.issuer, when: { team: 'web', ref: { glob: 'refs/heads/*' } }, grants: [{ repository: 'web/**', actions: ['pull', 'push'] }] },
        { id: 'no-prod-push', effect: 'deny', issuer: issuer.issuer, grants: [{ repository: 'web/prod/**', actions: ['push'] }] },
      ],
    },
    extra: { admin: { enabled: true, token: { file: path.join(secrets, 'admin') } } },
  });
});
afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await rm(secrets, { recursive: true, force: true });
});

async function explain(body: unknown, auth = `Bearer ${ADMIN}`) {
  const res = await fetch(`${broker.url}/admin/explain`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('/admin/explain', () => {
  it('requires the admin credential', async () => {
    expect((await explain({ claims: {} }, '')).status).toBe(401);
    expect((await explain({ claims: {} }, 'Bearer wrong')).status).toBe(401);
    expect((await explain({ claims: {} }, `Basic ${Buffer.from(`x:${ADMIN}`).toString('base64')}`)).status).toBe(401);
  });

  it('explains a denial by naming the failing condition, against the running policy', async () => {
    const { status, body } = await explain({ issuer: issuer.issuer, claims: { team: 'web', ref: 'refs/tags/v1' }, scopes: ['repository:web/app:push'] });
    expect(status).toBe(200);
    expect(body.policyVersion).toBe(broker.broker.policy().version);
    expect(body.text).toMatch(/FAIL\s+ref /);
    expect(JSON.stringify(body.decision)).toContain('"actions":[]');
  });

  it('explains deny over allow', async () => {
    const { body } = await explain({ issuer: issuer.issuer, claims: { team: 'web', ref: 'refs/heads/main' }, scopes: ['repository:web/prod/app:pull,push'] });
    expect(JSON.stringify(body.decision)).toContain('"actions":["pull"]');
    expect(body.text).toMatch(/no-prod-push/);
  });

  it('rejects a malformed request with a message naming the field', async () => {
    const { status, body } = await explain({ issuer: issuer.issuer, claims: 'nope' });
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('claims');
  });
});

describe('/metrics', () => {
  it('exposes the policy version and counts token requests by outcome', async () => {
    const good = await issuer.mint({ team: 'web', ref: 'refs/heads/main' }, { audience: 'aud' });
    await fetch(`${broker.url}/token?service=test-registry&scope=repository:web/app:push`, { headers: { authorization: basic('x', good) } });
    await fetch(`${broker.url}/token?service=test-registry`, { headers: { authorization: basic('x', 'bad') } });
    const text = await (await fetch(`${broker.url}/metrics`)).text();
    expect(text).toContain(`portcullis_policy_info{version="${broker.broker.policy().version}"} 1`);
    expect(text).toMatch(/portcullis_token_requests_total\{outcome="issued",grant="GET",status="200",issuer="ci"\} [1-9]/);
    expect(text).toMatch(/portcullis_token_requests_total\{outcome="refused",grant="GET",status="401",issuer="none"\} [1-9]/);
    expect(text).toContain('portcullis_token_request_duration_seconds_bucket');
    expect(text).not.toContain(good);
  });
});
