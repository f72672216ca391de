import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { basic, decodeJwt, startBroker, type TestBroker } from '../../helpers/broker.js';
import { TestIssuer } from '../../helpers/issuer.js';

// The decision cache answers a re-presented ID token without running the policy again. These
// tests present the same token several times and check it never answers what the policy in force,
// the scopes asked for or single use would not.
let issuer: TestIssuer;
let broker: TestBroker;
const policy = (actions: string[]) => ({
  version: 1,
  rules: [
    { id: 'team', effect: 'allow', issuer: issuer.issuer, when: { team: 'web' }, grants: [{ repository: 'web/**', actions }] },
    { id: 'once', effect: 'allow', issuer: issuer.issuer, when: { team: 'ops' }, grants: [{ repository: 'ops/**', actions: ['pull'] }] },
  ],
});

beforeAll(async () => {
  issuer = await TestIssuer.start();
  broker = await startBroker({
    issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: ['aud'] }],
    policy: policy(['pull']),
    extra: { sessions: { idTokens: { singleUseRules: ['once'] } } },
  });
});
afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
});

async function ask(idToken: string, scope: string): Promise<{ status: number; access: { name: string; actions: string[] }[]; jti?: string }> {
  const res = await fetch(`${broker.url}/token?service=test-registry&scope=${encodeURIComponent(scope)}`, { headers: { authorization: basic('oidc', idToken) } });
  const body = (await res.json()) as { token?: string };
  if (!body.token) return { status: res.status, access: [] };
  const payload = decodeJwt(body.token).payload as { access: { name: string; actions: string[] }[]; jti: string };
  return { status: res.status, access: payload.access, jti: payload.jti };
}

const audits = (): { granted?: string[]; denied?: string[]; policyVersion?: string }[] =>
  broker.logs.map((l) => JSON.parse(l) as { msg?: string; audit?: object }).filter((l) => l.msg === 'token issued').map((l) => l.audit as object);

describe('decisions for re-presented ID tokens', () => {
  it('answers the same token again with the same access, a fresh jti and the same audit record', async () => {
    const token = await issuer.mint({ team: 'web' }, { audience: 'aud' });
    await ask(token, 'repository:web/app:pull,push');
    const first = await ask(token, 'repository:web/app:pull,push');
    const second = await ask(token, 'repository:web/app:pull,push');
    expect(first.access).toEqual([{ type: 'repository', name: 'web/app', actions: ['pull'] }]);
    expect(second.access).toEqual(first.access);
    expect(second.jti).not.toBe(first.jti);
    const [a, b] = audits().slice(-2);
    expect(b?.granted).toEqual(['repository:web/app:pull']);
    expect(b?.denied).toEqual(['repository:web/app:push']);
    expect(b).toMatchObject({ granted: a?.granted, denied: a?.denied, policyVersion: a?.policyVersion });
  });

  it('decides again for other scopes', async () => {
    const token = await issuer.mint({ team: 'web' }, { audience: 'aud' });
    expect((await ask(token, 'repository:web/app:pull')).access[0]?.actions).toEqual(['pull']);
    expect((await ask(token, 'repository:ops/app:pull')).access[0]?.actions).toEqual([]);
    expect((await ask(token, 'repository:web/other:pull')).access).toEqual([{ type: 'repository', name: 'web/other', actions: ['pull'] }]);
  });

  it('forgets every decision when the policy is reloaded', async () => {
    const token = await issuer.mint({ team: 'web' }, { audience: 'aud' });
    // A decision is kept from the second request on (the first only marks it as seen): ask three times.
    const thrice = async (): Promise<string[][]> => {
      const out: string[][] = [];
      for (let i = 0; i < 3; i += 1) out.push((await ask(token, 'repository:web/app:pull,push')).access[0]?.actions ?? []);
      return out;
    };
    expect(await thrice()).toEqual([['pull'], ['pull'], ['pull']]);
    await writeFile(path.join(broker.dir, 'policy.yaml'), stringify(policy(['pull', 'push'])));
    expect((await broker.broker.reloadPolicy()).ok).toBe(true);
    expect(await thrice()).toEqual([['pull', 'push'], ['pull', 'push'], ['pull', 'push']]);
    await writeFile(path.join(broker.dir, 'policy.yaml'), stringify(policy(['pull'])));
    expect((await broker.broker.reloadPolicy()).ok).toBe(true);
    expect(await thrice()).toEqual([['pull'], ['pull'], ['pull']]);
  });

  it('still refuses the second use of a single-use token whose decision is cached', async () => {
    const token = await issuer.mint({ team: 'ops' }, { audience: 'aud' });
    expect((await ask(token, 'repository:ops/app:pull')).status).toBe(200);
    expect((await ask(token, 'repository:ops/app:pull')).status).toBe(401);
    expect((await ask(token, 'repository:ops/app:pull')).status).toBe(401);
  });
});

describe('with every ID token single use (nothing about them is cached)', () => {
  let once: TestBroker;
  beforeAll(async () => {
    once = await startBroker({
      issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: ['aud'] }],
      policy: policy(['pull']),
      extra: { sessions: { idTokens: { singleUse: true } } },
    });
  });
  afterAll(async () => {
    await once?.stop();
  });

  it('issues for a fresh token and refuses it the second time', async () => {
    const token = await issuer.mint({ team: 'web' }, { audience: 'aud' });
    const get = (): Promise<Response> =>
      fetch(`${once.url}/token?service=test-registry&scope=${encodeURIComponent('repository:web/app:pull')}`, { headers: { authorization: basic('oidc', token) } });
    expect((await get()).status).toBe(200);
    const again = await get();
    expect(again.status).toBe(401);
    expect(JSON.stringify(await again.json())).toMatch(/already used/);
  });
});
