/**
 * An issuer configured `exchangeOnly`: its ID tokens buy registry tokens only through the
 * RFC 8693 exchange (single use), never presented directly on GET or POST /token, so a token
 * stolen after its exchange is worth nothing. A real broker and issuer on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../../helpers/issuer.js';
import { basic, exchangeIdToken, startBroker, type TestBroker } from '../../helpers/broker.js';

const SERVICE = 'test-registry';

let issuer: TestIssuer;
let other: TestIssuer;
let broker: TestBroker;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  other = await TestIssuer.start();
  const allow = (id: string, iss: string): Record<string, unknown> => ({
    id,
    effect: 'allow',
    issuer: iss,
    when: { team: 'blue' },
    grants: [{ repository: 'blue/**', actions: ['pull', 'push'] }],
  });
  broker = await startBroker({
    issuers: [
      { id: 'guarded', issuer: issuer.issuer, audiences: ['portcullis'], exchangeOnly: true },
      { id: 'plain', issuer: other.issuer, audiences: ['portcullis'] },
    ],
    policy: { version: 1, rules: [allow('guarded-push', issuer.issuer), allow('plain-push', other.issuer)] },
    services: [SERVICE],
    logLevel: 'warn',
  });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await other?.close();
});

const scope = 'repository:blue/app:pull,push';

function direct(idToken: string): Promise<Response> {
  return fetch(`${broker.url}/token?service=${SERVICE}&scope=${scope}`, { headers: { authorization: basic('ci', idToken) } });
}

function password(idToken: string): Promise<Response> {
  const form = new URLSearchParams({ grant_type: 'password', service: SERVICE, username: 'ci', password: idToken, scope });
  return fetch(`${broker.url}/token`, { method: 'POST', body: form });
}

function exchange(idToken: string): Promise<Response> {
  return exchangeIdToken(broker.url, SERVICE, idToken, scope);
}

describe('exchangeOnly issuer', () => {
  it('refuses its ID token on GET /token and the password grant with 401', async () => {
    const token = await issuer.mint({ team: 'blue' });
    const get = await direct(token);
    expect(get.status).toBe(401);
    expect(JSON.stringify(await get.json())).toMatch(/UNAUTHORIZED/);
    expect((await password(token)).status).toBe(401);
  });

  it('issues through the exchange, once; the same token is then worthless everywhere', async () => {
    const token = await issuer.mint({ team: 'blue' });
    const res = await exchange(token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(typeof body.access_token).toBe('string');
    expect((await exchange(token)).status).toBe(401);
    expect((await direct(token)).status).toBe(401);
  });

  it('leaves other issuers usable directly', async () => {
    expect((await direct(await other.mint({ team: 'blue' }))).status).toBe(200);
  });
});
