/**
 * The verifier against a real OIDC issuer on 127.0.0.1: discovery, JWKS caching, rotation,
 * rate-limited refetches and every refusal, with request counts proving what hit the network.
 */
import { createHmac, createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createVerifier, type IssuerConfig } from '../../../src/identity/index.js';
import { identityErrorCode, identityFailure, useIdentityIssuer } from '../../helpers/identity.js';
import { githubActionsClaims } from '../../helpers/issuer.js';

const warnings: { obj: object; msg: string }[] = [];
const logger = { warn: (obj: object, msg: string): void => void warnings.push({ obj, msg }) };

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

const fx = useIdentityIssuer({ logger });
const { clock, now, nowSeconds, entry, verifierFor, mint } = fx;

beforeEach(() => {
  warnings.length = 0;
});

const DISCOVERY = '/.well-known/openid-configuration';

describe('happy paths', () => {
  it.each(['RS256', 'ES256'] as const)('verifies a GitHub-Actions-shaped %s token after discovery', async (alg) => {
    const verifier = verifierFor();
    const token = await mint(githubActionsClaims(), { alg });
    const identity = await verifier.verify(token);
    expect(identity).toMatchObject({
      issuer: fx.issuer.issuer,
      issuerId: 'test',
      subject: 'repo:octo-org/octo-repo:ref:refs/heads/main',
    });
    expect(identity.claims).toMatchObject({ repository_id: '74', repository_owner_id: '65', event_name: 'push' });
    expect(identity.expiresAt).toBe(nowSeconds() + 300);
    expect(typeof identity.tokenId).toBe('string');
    expect(fx.issuer.count(DISCOVERY)).toBe(1);
    expect(fx.issuer.count('/jwks')).toBe(1);
  });

  it('uses a configured jwksUri without discovery', async () => {
    const verifier = verifierFor([entry({ jwksUri: `${fx.issuer.issuer}/jwks` })]);
    await verifier.verify(await mint());
    expect(fx.issuer.count(DISCOVERY)).toBe(0);
    expect(fx.issuer.count('/jwks')).toBe(1);
  });

  it('makes no network call once warm', async () => {
    const verifier = verifierFor();
    expect(await verifier.warm()).toEqual([{ issuerId: 'test', ok: true }]);
    expect(fx.issuer.count()).toBe(2);
    fx.issuer.resetCounts();
    for (const alg of ['RS256', 'ES256', 'RS256'] as const) {
      await verifier.verify(await mint({}, { alg }));
    }
    expect(fx.issuer.count()).toBe(0);
  });
});

describe('refusals', () => {
  it('refuses an untrusted issuer without any network request', async () => {
    const verifier = verifierFor();
    const token = await mint({}, { issuer: fx.issuer.issuerAt('/not-configured') });
    const error = await identityFailure(verifier.verify(token));
    expect(error.code).toBe('untrusted_issuer');
    expect(error.message).toContain('/not-configured');
    expect(fx.issuer.count()).toBe(0);
  });

  it.each([
    ['expired', { exp: -120 }, 'expired'],
    ['not yet valid', { nbf: 600 }, 'not_yet_valid'],
    ['issued in the future', { iat: 600, nbf: 0 }, 'issued_in_future'],
  ] as const)('refuses a token that is %s', async (_name, offsets, code) => {
    const verifier = verifierFor();
    const claims: Record<string, number> = {};
    for (const [claim, offset] of Object.entries(offsets)) claims[claim] = nowSeconds() + offset;
    expect(await identityErrorCode(verifier.verify(await mint(claims)))).toBe(code);
  });

  it('refuses a token older than maxTokenAge', async () => {
    const verifier = verifierFor([entry({ maxTokenAge: 600, clockSkew: 0 })]);
    const old = await mint({}, { now: nowSeconds() - 601, lifetimeSeconds: 3600 });
    expect(await identityErrorCode(verifier.verify(old))).toBe('too_old');
    const fresh = await mint({}, { now: nowSeconds() - 500, lifetimeSeconds: 3600 });
    await expect(verifier.verify(fresh)).resolves.toBeDefined();
  });

  it('refuses the wrong audience and names the expected one', async () => {
    const verifier = verifierFor();
    const error = await identityFailure(verifier.verify(await mint({}, { audience: 'https://github.com/octo-org' })));
    expect(error.code).toBe('wrong_audience');
    expect(error.message).toContain('"portcullis"');
  });

  it('refuses a tampered payload', async () => {
    const verifier = verifierFor();
    const [header, , signature] = (await mint(githubActionsClaims())).split('.');
    const forged = `${header}.${b64({ ...githubActionsClaims({ repository_owner_id: '1' }), iss: fx.issuer.issuer, aud: 'portcullis', exp: nowSeconds() + 60 })}.${signature}`;
    expect(await identityErrorCode(verifier.verify(forged))).toBe('bad_signature');
  });

  it('refuses alg none', async () => {
    const verifier = verifierFor();
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: fx.issuer.issuer, sub: 's', aud: 'portcullis', exp: nowSeconds() + 60 })}.`;
    expect(await identityErrorCode(verifier.verify(unsigned))).toBe('unsupported_alg');
  });

  it('refuses HS256 signed with the issuer public key as the secret', async () => {
    const verifier = verifierFor();
    await verifier.warm();
    const pem = createPublicKey({ key: fx.issuer.publicJwk('RS256') as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = `${b64({ alg: 'HS256', kid: fx.issuer.kid('RS256') })}.${b64({ iss: fx.issuer.issuer, sub: 's', aud: 'portcullis', exp: nowSeconds() + 60 })}`;
    const token = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    expect(await identityErrorCode(verifier.verify(token))).toBe('unsupported_alg');
  });

  it('refuses an ES256 header naming an RSA key', async () => {
    const verifier = verifierFor();
    const input = `${b64({ alg: 'ES256', kid: fx.issuer.kid('RS256') })}.${b64({ iss: fx.issuer.issuer, sub: 's', aud: 'portcullis', exp: nowSeconds() + 60 })}`;
    expect(await identityErrorCode(verifier.verify(`${input}.${randomBytes(64).toString('base64url')}`))).toBe('bad_signature');
  });
});

describe('key rotation and refetching', () => {
  it('refetches once for an unknown kid and succeeds after rotation', async () => {
    const verifier = verifierFor();
    await verifier.warm();
    await fx.issuer.rotate();
    clock.ms += 31_000;
    fx.issuer.resetCounts();
    await expect(verifier.verify(await mint())).resolves.toBeDefined();
    expect(fx.issuer.count('/jwks')).toBe(1);
    // The new key is now cached.
    await verifier.verify(await mint({}, { alg: 'ES256' }));
    expect(fx.issuer.count('/jwks')).toBe(1);
    expect(fx.issuer.count(DISCOVERY)).toBe(0);
  });

  it('rate-limits refetches for unknown kids to one per 30 s per issuer', async () => {
    const verifier = verifierFor();
    await verifier.warm();
    clock.ms += 31_000;
    fx.issuer.resetCounts();
    const unknown = (i: number): Promise<string> => mint({}, { kid: `unknown-${i}` });
    // Concurrent unknown kids share one refetch.
    const codes = await Promise.all([0, 1, 2, 3, 4].map(async (i) => identityErrorCode(verifier.verify(await unknown(i)))));
    expect(codes).toEqual(Array(5).fill('unknown_key'));
    expect(fx.issuer.count('/jwks')).toBe(1);
    for (let i = 5; i < 10; i++) expect(await identityErrorCode(verifier.verify(await unknown(i)))).toBe('unknown_key');
    expect(fx.issuer.count('/jwks')).toBe(1);
    // Rotation right after a refetch is only seen once the interval has passed.
    await fx.issuer.rotate();
    const rotated = await mint();
    expect(await identityErrorCode(verifier.verify(rotated))).toBe('unknown_key');
    expect(fx.issuer.count('/jwks')).toBe(1);
    clock.ms += 30_000;
    await expect(verifier.verify(rotated)).resolves.toBeDefined();
    expect(fx.issuer.count('/jwks')).toBe(2);
  });

  it('serves stale keys when a refresh fails, and retries only after the interval', async () => {
    const verifier = verifierFor();
    await verifier.warm();
    fx.issuer.jwksFailureStatus = 500;
    clock.ms += 11 * 60_000; // past the 10 min TTL
    fx.issuer.resetCounts();
    await expect(verifier.verify(await mint())).resolves.toBeDefined();
    // The refresh runs behind the answer (stale-while-revalidate).
    await vi.waitFor(() => expect(warnings.some((w) => w.msg === 'refreshing issuer keys failed' && (w.obj as { stale: boolean }).stale)).toBe(true));
    expect(fx.issuer.count('/jwks')).toBe(1);
    await verifier.verify(await mint());
    expect(fx.issuer.count('/jwks')).toBe(1);
    fx.issuer.jwksFailureStatus = undefined;
    clock.ms += 30_000;
    await verifier.verify(await mint());
    await vi.waitFor(() => expect(fx.issuer.count('/jwks')).toBe(1 + 1));
  });

  it('reports unavailable keys on a cold failure and does not hammer the issuer', async () => {
    const verifier = verifierFor();
    fx.issuer.jwksFailureStatus = 503;
    const results = await verifier.warm();
    expect(results).toEqual([{ issuerId: 'test', ok: false, error: expect.stringContaining('HTTP 503') }]);
    expect(await identityErrorCode(verifier.verify(await mint()))).toBe('jwks_unavailable');
    expect(fx.issuer.count('/jwks')).toBe(1);
  });

  it('gives up on a stalled issuer after the fetch timeout', async () => {
    const verifier = verifierFor([entry()], { fetchTimeoutMs: 300 });
    fx.issuer.stallRequests = true;
    const started = Date.now();
    expect(await identityErrorCode(verifier.verify(await mint()))).toBe('jwks_unavailable');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('refuses a JWKS above the response size cap', async () => {
    fx.issuer.extraJwks = [{ kty: 'oct', k: 'x'.repeat(4_000) }];
    const verifier = verifierFor([entry()], { maxResponseBytes: 2_000 });
    const error = await identityFailure(verifier.verify(await mint()));
    expect(error.code).toBe('jwks_unavailable');
    expect(error.message).toMatch(/larger than 2000 bytes/);
  });
});

describe('discovery', () => {
  it.each([
    ['another issuer', 'https://token.actions.githubusercontent.com'],
    ['a trailing-slash variant', 'SELF/'],
  ])('refuses a discovery document naming %s', async (_name, announced) => {
    fx.issuer.discoveryIssuerOverride = announced.replace('SELF', fx.issuer.issuer);
    const verifier = verifierFor();
    const error = await identityFailure(verifier.verify(await mint()));
    expect(error.code).toBe('jwks_unavailable');
    expect(error.message).toMatch(/discovery/);
    expect(fx.issuer.count('/jwks')).toBe(0);
  });
});

describe('wildcard issuers', () => {
  const pattern = (): IssuerConfig => ({ id: 'orgs', issuer: fx.issuer.issuerAt('/org/*'), audiences: ['portcullis'] });

  it('discovers keys per concrete issuer matching the pattern', async () => {
    const verifier = verifierFor([pattern()]);
    for (const org of ['abc', 'def-1']) {
      const identity = await verifier.verify(await mint({}, { issuer: fx.issuer.issuerAt(`/org/${org}`) }));
      expect(identity).toMatchObject({ issuer: fx.issuer.issuerAt(`/org/${org}`), issuerId: 'orgs' });
      expect(fx.issuer.count(`/org/${org}${DISCOVERY}`)).toBe(1);
      expect(fx.issuer.count(`/org/${org}/jwks`)).toBe(1);
    }
  });

  it.each(['/org/a.b', '/org/abc/x', '/org/', '/org/abc/../def'])('refuses %s without any request', async (path) => {
    const verifier = verifierFor([pattern()]);
    expect(await identityErrorCode(verifier.verify(await mint({}, { issuer: fx.issuer.issuerAt(path) })))).toBe('untrusted_issuer');
    expect(fx.issuer.count()).toBe(0);
  });

  it('caps how many new issuers a pattern may discover per interval', async () => {
    const verifier = createVerifier([pattern()], { now, logger, cache: false });
    const results: string[] = [];
    for (let i = 0; i < 22; i++) {
      results.push(await identityErrorCode(verifier.verify(await mint({}, { issuer: fx.issuer.issuerAt(`/org/o${i}`), kid: 'x' }))));
    }
    expect(results.slice(0, 20)).toEqual(Array(20).fill('unknown_key'));
    expect(results.slice(20)).toEqual(['jwks_unavailable', 'jwks_unavailable']);
    expect(fx.issuer.count('/org/o21/jwks')).toBe(0);
  });
});

describe('verification cache', () => {
  it('returns the same Identity for a repeated token, and never after exp', async () => {
    const verifier = createVerifier([entry()], { now, logger });
    const token = await mint({}, { lifetimeSeconds: 120 });
    // Kept from the second verification on: the first only notes the token.
    const once = await verifier.verify(token);
    const first = await verifier.verify(token);
    expect(first).not.toBe(once);
    expect(first).toEqual(once);
    fx.issuer.resetCounts();
    expect(await verifier.verify(token)).toBe(first);
    clock.ms += 119_000;
    expect(await verifier.verify(token)).toBe(first);
    clock.ms += 1_000; // now == exp: the cache must not answer; verification allows the skew
    const again = await verifier.verify(token);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    clock.ms += 60_000;
    expect(await identityErrorCode(verifier.verify(token))).toBe('expired');
    expect(fx.issuer.count()).toBe(0);
  });

  it('does not cache failures', async () => {
    const verifier = createVerifier([entry()], { now, logger });
    const token = await mint({}, { audience: 'other' });
    expect(await identityErrorCode(verifier.verify(token))).toBe('wrong_audience');
    expect(await identityErrorCode(verifier.verify(token))).toBe('wrong_audience');
  });
});
