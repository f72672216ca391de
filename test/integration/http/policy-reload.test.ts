import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { basic, decodeJwt, startBroker, type TestBroker } from '../../helpers/broker.js';
import { TestIssuer } from '../../helpers/issuer.js';

let issuer: TestIssuer;
let broker: TestBroker;
const rule = (actions: string[]) => ({
  version: 1,
  rules: [{ id: 'team', effect: 'allow', issuer: issuer.issuer, when: { team: 'web' }, grants: [{ repository: 'web/**', actions }] }],
});

beforeAll(async () => {
  issuer = await TestIssuer.start();
  broker = await startBroker({ issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: ['aud'] }], policy: rule(['pull']) });
});
afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
});

async function actions(): Promise<string[]> {
  const res = await fetch(`${broker.url}/token?service=test-registry&scope=repository:web/app:pull,push`, {
    headers: { authorization: basic('oidc', await issuer.mint({ team: 'web' }, { audience: 'aud' })) },
  });
  expect(res.status).toBe(200);
  const access = decodeJwt(((await res.json()) as { token: string }).token).payload.access as { actions: string[] }[];
  return access[0]?.actions ?? [];
}

describe('policy hot reload in a running broker', () => {
  const policyFile = () => path.join(broker.dir, 'policy.yaml');

  it('a valid change takes effect on reload, with a new version', async () => {
    expect(await actions()).toEqual(['pull']);
    const before = broker.broker.policy().version;
    await writeFile(policyFile(), stringify(rule(['pull', 'push'])));
    const result = await broker.broker.reloadPolicy();
    expect(result.ok).toBe(true);
    expect(result.version).not.toBe(before);
    expect(await actions()).toEqual(['pull', 'push']);
  });

  it('a broken file keeps the last good policy, reports why, and the broker keeps serving', async () => {
    const good = broker.broker.policy().version;
    await writeFile(policyFile(), 'version: 1\nrules:\n  - id: x\n    effect: maybe\n');
    const result = await broker.broker.reloadPolicy();
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/effect/);
    expect(broker.broker.policy().version).toBe(good);
    expect(await actions()).toEqual(['pull', 'push']);
  });

  it('a policy with lint errors (an unpinned rule for a shared issuer) is refused on reload', async () => {
    const good = broker.broker.policy().version;
    await writeFile(
      policyFile(),
      stringify({ version: 1, rules: [{ id: 'all-of-github', effect: 'allow', provider: 'github-actions', grants: [{ repository: 'web/**', actions: ['push'] }] }] }),
    );
    const result = await broker.broker.reloadPolicy();
    expect(result.ok).toBe(false);
    expect(broker.broker.policy().version).toBe(good);
  });
});
