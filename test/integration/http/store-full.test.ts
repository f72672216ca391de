/**
 * A full memory store on a real broker: the single-use write is refused with a retryable 503 in
 * registry format, the refusal is audited as one short line (no stack trace, no error object),
 * and requests that need no store write keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer, githubActionsClaims } from '../../helpers/issuer.js';
import { basic, startBroker, type TestBroker } from '../../helpers/broker.js';

const SERVICE = 'test-registry';
const AUD = 'portcullis-store-full';
let issuer: TestIssuer;
let broker: TestBroker;

beforeAll(async () => {
  issuer = await TestIssuer.start({ algs: ['RS256'] });
  broker = await startBroker({
    issuers: [
      { id: 'once', issuer: issuer.issuerAt('/once'), audiences: [AUD], algorithms: ['RS256'] },
      { id: 'again', issuer: issuer.issuerAt('/again'), audiences: [AUD], algorithms: ['RS256'] },
    ],
    policy: {
      version: 1,
      rules: ['/once', '/again'].map((p, i) => ({
        id: `r${i}`,
        effect: 'allow',
        issuer: issuer.issuerAt(p),
        when: { repository_owner: 'octo-org' },
        grants: [{ repository: 'octo-org/**', actions: ['pull'] }],
      })),
    },
    services: [SERVICE],
    extra: {
      store: { type: 'memory', maxEntries: 3 },
      sessions: { idTokens: { singleUseIssuers: ['once'] }, rateLimits: { enabled: false } },
    },
  });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
});

const get = async (token: string): Promise<{ status: number; body: { errors?: { code: string }[] }; retryAfter: string | null }> => {
  const res = await fetch(`${broker.url}/token?service=${SERVICE}&scope=repository:octo-org/app:pull`, { headers: { authorization: basic('ci', token) } });
  return { status: res.status, body: (await res.json()) as { errors?: { code: string }[] }, retryAfter: res.headers.get('retry-after') };
};
const mint = (path: string): Promise<string> => issuer.mint(githubActionsClaims(), { issuer: issuer.issuerAt(path), audience: AUD });

describe('a full memory store', () => {
  it('refuses single-use tokens with 503 + Retry-After, audits one short line, and serves the rest', async () => {
    for (let i = 0; i < 3; i += 1) expect((await get(await mint('/once'))).status).toBe(200);
    const before = broker.logs.length;
    const refused = await get(await mint('/once'));
    expect(refused.status).toBe(503);
    expect(refused.body.errors?.[0]?.code).toBe('UNAVAILABLE');
    expect(refused.retryAfter).toBe('2');

    const lines = broker.logs.slice(before);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string) as { msg: string; level: number; err?: unknown; audit?: { reason?: string } };
    expect(line.msg).toBe('token refused');
    expect(line.level).toBe(30);
    expect(line.err).toBeUndefined();
    expect((lines[0] as string).length).toBeLessThan(1_000);
    expect(lines[0]).not.toContain('    at ');

    // No store write needed: a token of an issuer without single use, presented twice, and the probes.
    const again = await mint('/again');
    expect((await get(again)).status).toBe(200);
    expect((await get(again)).status).toBe(200);
    expect((await fetch(`${broker.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
  });
});
