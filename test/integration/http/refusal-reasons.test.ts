/**
 * 401 and 503 answers to unauthenticated callers carry a stable reason code and a
 * fixed sentence, never the accepted audiences, issuer ids, algorithms or key-fetch
 * errors; that detail is in the audit record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../../helpers/issuer.js';
import { basic, startBroker, type TestBroker } from '../../helpers/broker.js';
import { TOKEN_REFUSAL_REASONS } from '../../../src/issuance/refusal-reasons.js';

const SERVICE = 'test-registry';
const AUD = 'aud-internal-7f3a';
const ISSUER_ID = 'issuer-id-internal-c9';

let issuer: TestIssuer;
let stranger: TestIssuer;
let down: TestIssuer;
let broker: TestBroker;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  stranger = await TestIssuer.start();
  down = await TestIssuer.start();
  // Down from the start, so its keys were never cached.
  down.jwksFailureStatus = 500;
  broker = await startBroker({
    issuers: [
      { id: ISSUER_ID, issuer: issuer.issuer, audiences: [AUD], algorithms: ['ES256'], maxTokenAge: 600 },
      { id: 'down-issuer-id', issuer: down.issuer, audiences: [AUD] },
    ],
    policy: { version: 1, rules: [{ id: 'r', effect: 'allow', issuer: issuer.issuer, grants: [{ repository: 'a/**', actions: ['pull'] }] }] },
    services: [SERVICE],
    logLevel: 'info',
  });
});

afterAll(async () => {
  await broker?.stop();
  await Promise.all([issuer?.close(), stranger?.close(), down?.close()]);
});

async function present(token: string): Promise<{ status: number; text: string; body: { errors: { code: string; message: string; detail?: { reason?: string } }[] } }> {
  const res = await fetch(`${broker.url}/token?service=${SERVICE}&scope=repository:a/b:pull`, { headers: { authorization: basic('ci', token) } });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as never };
}

const internals = (): string[] => [AUD, ISSUER_ID, 'down-issuer-id', issuer.issuer, down.issuer, 'ES256', 'RS256', 'HTTP 500', 'accepted'];

describe('refusals tell the caller a reason code, not the configuration', () => {
  const cases: [string, () => Promise<string>, number, string][] = [
    ['wrong audience', () => issuer.mint({}, { alg: 'ES256', audience: 'someone-else' }), 401, 'wrong_audience'],
    ['algorithm not accepted', () => issuer.mint({}, { alg: 'RS256', audience: AUD }), 401, 'unsupported_alg'],
    ['untrusted issuer', () => stranger.mint({}, { alg: 'ES256', audience: AUD }), 401, 'untrusted_issuer'],
    ['too old', () => issuer.mint({}, { alg: 'ES256', audience: AUD, now: Math.floor(Date.now() / 1000) - 1200, lifetimeSeconds: 3600 }), 401, 'too_old'],
    ['expired', () => issuer.mint({}, { alg: 'ES256', audience: AUD, now: Math.floor(Date.now() / 1000) - 1000, lifetimeSeconds: 300 }), 401, 'expired'],
    ['keys unavailable', () => down.mint({}, { audience: AUD }), 503, 'keys_unavailable'],
  ];
  for (const [name, mint, status, reason] of cases) {
    it(`${name}: ${status} with reason ${reason}`, async () => {
      const res = await present(await mint());
      expect(res.status).toBe(status);
      const error = res.body.errors[0];
      expect(error?.detail).toEqual({ reason });
      if (status === 401) expect(error?.message).toBe(`invalid credentials: ${TOKEN_REFUSAL_REASONS[reason as keyof typeof TOKEN_REFUSAL_REASONS]}`);
      for (const secret of internals()) expect(res.text).not.toContain(secret);
    });
  }

  it('the audit record keeps the detail', () => {
    const reasons = broker.logs.map((l) => (JSON.parse(l) as { audit?: { reason?: string } }).audit?.reason).filter((r): r is string => r !== undefined);
    expect(reasons.some((r) => r.startsWith('wrong_audience:') && r.includes(AUD))).toBe(true);
    expect(reasons.some((r) => r.startsWith('unsupported_alg:') && r.includes('ES256'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('jwks_unavailable:'))).toBe(true);
  });
});
