/**
 * A shared issuer (GitHub, GitLab.com) signs tokens for anyone who asks for our
 * audience. Identities no allow rule applies to must not be able to fill the store
 * with sessions, nor spend the issuer-wide rate limit every tenant shares; and one
 * identity holds at most `maxPerIdentity` sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../../helpers/issuer.js';
import { basic, startBroker, type TestBroker } from '../../helpers/broker.js';

const SERVICE = 'test-registry';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

let issuer: TestIssuer;
let broker: TestBroker;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  broker = await startBroker({
    issuers: [{ id: 'shared', issuer: issuer.issuer, audiences: ['portcullis'] }],
    policy: {
      version: 1,
      rules: [{ id: 'our-org', effect: 'allow', issuer: issuer.issuer, when: { org: 'ours' }, grants: [{ repository: 'ours/**', actions: ['pull'] }] }],
    },
    services: [SERVICE],
    logLevel: 'warn',
    extra: {
      store: { type: 'memory' },
      sessions: {
        refreshTokens: { enabled: true, maxPerIdentity: 2 },
        rateLimits: { perIssuer: { points: 10, durationSec: 60 }, perIdentity: { points: 1000, durationSec: 60 } },
      },
    },
  });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
});

const login = async (org: string, subject: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const token = await issuer.mint({ org }, { subject });
  const res = await fetch(`${broker.url}/token?service=${SERVICE}&offline_token=true&scope=repository:ours/app:pull`, {
    headers: { authorization: basic('ci', token) },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('identities no rule applies to', () => {
  it('get no refresh session (login or exchange) and leave nothing in the store', async () => {
    const stranger = await login('someone-else', 'stranger-1');
    expect(stranger.status).toBe(200);
    expect(stranger.body.refresh_token).toBeUndefined();
    const exchanged = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: EXCHANGE, service: SERVICE, subject_token: await issuer.mint({ org: 'someone-else' }, { subject: 'stranger-2' }), subject_token_type: ID_TOKEN_TYPE }),
    });
    expect(exchanged.status).toBe(200);
    expect(((await exchanged.json()) as Record<string, unknown>).refresh_token).toBeUndefined();
    expect(await broker.broker.sessions.list({ all: true })).toEqual([]);
    // A member does get one.
    const member = await login('ours', 'member-0');
    expect(member.status).toBe(200);
    expect(member.body.refresh_token).toMatch(/^pcr_/);
    expect(await broker.broker.sessions.list({ all: true })).toHaveLength(1);
  });

  it('do not spend the issuer-wide rate limit that members share', async () => {
    for (let i = 0; i < 20; i += 1) expect((await login('someone-else', `flood-${i}`)).status).toBe(200);
    const member = await login('ours', 'member-1');
    expect(member.status).toBe(200);
  });
});

describe('sessions per identity', () => {
  it('are capped: opening one more ends the oldest', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const r = await login('ours', 'capped');
      expect(r.status).toBe(200);
      tokens.push(r.body.refresh_token as string);
    }
    expect(await broker.broker.sessions.list({ subject: 'capped' })).toHaveLength(2);
    const refresh = async (token: string): Promise<number> =>
      (
        await fetch(`${broker.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', service: SERVICE, refresh_token: token }),
        })
      ).status;
    expect(await refresh(tokens[0] as string)).toBe(401);
    expect(await refresh(tokens[2] as string)).toBe(200);
  });
});
