/**
 * ID-token hygiene against a real OIDC issuer on 127.0.0.1 (RFC 8725, OIDC Core 3.1.3.7):
 * explicit typing, several audiences and azp, required iat and bounded lifetimes, keys that
 * stay usable while the JWKS endpoint hangs but age out once withdrawn, exchange-only issuers,
 * and a per-client share of a wildcard entry's discovery budget.
 */
import { describe, expect, it, vi } from 'vitest';
import { createVerifier, type IssuerConfig } from '../../../src/identity/index.js';
import { useIdentityIssuer, verificationOutcome } from '../../helpers/identity.js';

const fx = useIdentityIssuer();
const { clock, now, nowSeconds, entry, verifierFor, mint } = fx;

/** Resolves to 'hung' when `promise` has not settled within `ms`: a guard, not a measurement. */
const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'hung'> =>
  Promise.race([promise, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms).unref())]);

describe('explicit typing (typ)', () => {
  it.each([
    ['at+jwt', 'an OAuth access token (RFC 9068)'],
    ['application/at+jwt', 'the same with its media-type prefix'],
    ['logout+jwt', 'a logout token'],
    ['JOSE', 'a generic JWS'],
  ])('refuses typ %s (%s) unless the issuer allows it', async (typ) => {
    const token = await mint({}, { header: { typ } });
    expect(await verificationOutcome(verifierFor().verify(token))).toBe('wrong_type');
  });

  it('accepts absent, JWT and application/jwt in any case, and a type the issuer allows', async () => {
    const verifier = verifierFor();
    expect(await verificationOutcome(verifier.verify(await mint({}, { header: { typ: 'JWT' } })))).toBe('accepted');
    expect(await verificationOutcome(verifier.verify(await mint({}, { header: { typ: 'application/JWT' } })))).toBe('accepted');
    expect(await verificationOutcome(verifier.verify(await mint({}, { header: { typ: undefined } })))).toBe('accepted');
    const allowing = verifierFor([entry({ allowedTypes: ['at+jwt'] })]);
    expect(await verificationOutcome(allowing.verify(await mint({}, { header: { typ: 'at+jwt' } })))).toBe('accepted');
  });

  it('refuses a typ that is not a string', async () => {
    expect(await verificationOutcome(verifierFor().verify(await mint({}, { header: { typ: 7 } })))).toBe('malformed');
  });
});

describe('several audiences and azp', () => {
  it('refuses a token that also names another audience and has no azp', async () => {
    const token = await mint({}, { audience: ['portcullis', 'https://other-service.example'] });
    expect(await verificationOutcome(verifierFor().verify(token))).toBe('wrong_authorized_party');
  });

  it('accepts it when azp is a configured authorized party, and refuses any other azp', async () => {
    const verifier = verifierFor([entry({ authorizedParties: ['ci-client'] })]);
    const aud = ['portcullis', 'https://other-service.example'];
    expect(await verificationOutcome(verifier.verify(await mint({ azp: 'ci-client' }, { audience: aud })))).toBe('accepted');
    expect(await verificationOutcome(verifier.verify(await mint({ azp: 'someone-else' }, { audience: aud })))).toBe('wrong_authorized_party');
    expect(await verificationOutcome(verifier.verify(await mint({ azp: 'someone-else' })))).toBe('wrong_authorized_party');
  });

  it('by default accepts azp only when it is one of our audiences', async () => {
    const verifier = verifierFor();
    expect(await verificationOutcome(verifier.verify(await mint({ azp: 'portcullis' })))).toBe('accepted');
    expect(await verificationOutcome(verifier.verify(await mint({ azp: 'another-client' })))).toBe('wrong_authorized_party');
  });
});

describe('iat and lifetimes', () => {
  it('refuses a token without iat', async () => {
    expect(await verificationOutcome(verifierFor().verify(await mint({ iat: undefined })))).toBe('missing_claim');
  });

  it('refuses exp - iat above 24 h by default and above the configured maximum', async () => {
    expect(await verificationOutcome(verifierFor().verify(await mint({}, { lifetimeSeconds: 86_400 })))).toBe('accepted');
    expect(await verificationOutcome(verifierFor().verify(await mint({}, { lifetimeSeconds: 86_401 })))).toBe('lifetime_too_long');
    const strict = verifierFor([entry({ maxTokenLifetime: 600 })]);
    expect(await verificationOutcome(strict.verify(await mint({}, { lifetimeSeconds: 601 })))).toBe('lifetime_too_long');
  });

  it('refuses times written in milliseconds', async () => {
    const ms = clock.ms;
    expect(await verificationOutcome(verifierFor().verify(await mint({ iat: nowSeconds(), exp: ms + 300_000 })))).toBe('lifetime_too_long');
  });
});

describe('stale-while-revalidate keys', () => {
  it('answers from cached keys while a refetch hangs, with one refetch in flight', async () => {
    const verifier = verifierFor([entry()], { fetchTimeoutMs: 20_000 });
    await verifier.warm();
    fx.issuer.stallRequests = true;
    clock.ms += 11 * 60_000; // past the 10 min TTL: the next request starts a refetch that will hang
    fx.issuer.resetCounts();
    const results = await within(Promise.all([1, 2, 3].map(async () => verifier.verify(await mint()))), 5_000);
    expect(results).not.toBe('hung');
    // One request of the refresh (rediscovery first) reaches the issuer and stays unanswered.
    await vi.waitFor(() => expect(fx.issuer.count()).toBe(1));
    // Still in flight: later requests neither wait for it nor start another.
    expect(await within(verifier.verify(await mint()), 5_000)).not.toBe('hung');
    expect(fx.issuer.count()).toBe(1);
  });

  it('stops accepting a withdrawn key after jwksMaxStale while the JWKS endpoint is down', async () => {
    const verifier = verifierFor([entry({ jwksMaxStale: 3_600 })]);
    await verifier.warm();
    const bound = 10 * 60 + 3_600; // TTL plus the stale bound, seconds
    // Signed by the key about to be withdrawn, issued when the clock will be there.
    const justInside = await mint({}, { now: nowSeconds() + bound - 2 });
    const justOutside = await mint({}, { now: nowSeconds() + bound + 1 });
    await fx.issuer.rotate(); // the key is withdrawn ...
    fx.issuer.jwksFailureStatus = 503; // ... and the endpoint that would say so is down
    clock.ms += (bound - 1) * 1000;
    expect(await verificationOutcome(verifier.verify(justInside))).toBe('accepted');
    clock.ms += 2_000;
    expect(await verificationOutcome(verifier.verify(justOutside))).toBe('jwks_unavailable');
  });

  it('applies the 24 h default bound', async () => {
    const verifier = verifierFor();
    await verifier.warm();
    fx.issuer.jwksFailureStatus = 503;
    clock.ms += 10 * 60_000 + 86_400_000 + 1_000;
    expect(await verificationOutcome(verifier.verify(await mint()))).toBe('jwks_unavailable');
  });
});

describe('exchange-only issuers', () => {
  it('refuses a directly presented token and accepts it through the exchange, also from the verification cache', async () => {
    const verifier = createVerifier([entry({ exchangeOnly: true })], { now });
    const token = await mint();
    expect(await verificationOutcome(verifier.verify(token))).toBe('exchange_only');
    expect(await verificationOutcome(verifier.verify(token, { presentation: 'direct' }))).toBe('exchange_only');
    expect(await verificationOutcome(verifier.verify(token, { presentation: 'exchange' }))).toBe('accepted');
    // Now cached: a direct presentation is still refused.
    expect(await verificationOutcome(verifier.verify(token))).toBe('exchange_only');
  });

  it('refuses before fetching any key', async () => {
    const verifier = verifierFor([entry({ exchangeOnly: true })]);
    expect(await verificationOutcome(verifier.verify(await mint()))).toBe('exchange_only');
    expect(fx.issuer.count()).toBe(0);
  });

  it('leaves other issuers and the old hash argument alone', async () => {
    const verifier = verifierFor();
    const token = await mint();
    expect(await verificationOutcome(verifier.verify(token, 'precomputed-hash'))).toBe('accepted');
    expect(await verificationOutcome(verifier.verify(token, { presentation: 'exchange' }))).toBe('accepted');
  });
});

describe('wildcard discovery budget', () => {
  const pattern = (): IssuerConfig => ({ id: 'orgs', issuer: fx.issuer.issuerAt('/org/*'), audiences: ['portcullis'] });

  it('one client with unsigned tokens cannot spend the whole budget: a real new issuer still gets through', async () => {
    const verifier = verifierFor([pattern()]);
    const forged = (iss: string): string =>
      [{ alg: 'RS256', kid: 'x' }, { iss, sub: 'x', aud: 'portcullis', iat: nowSeconds(), exp: nowSeconds() + 60 }]
        .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
        .concat('c2lnbmF0dXJl')
        .join('.');
    const attacker: string[] = [];
    for (let i = 0; i < 25; i++) {
      attacker.push(await verificationOutcome(verifier.verify(forged(fx.issuer.issuerAt(`/org/junk${i}`)), { client: '203.0.113.9' })));
    }
    expect(attacker.slice(0, 4)).toEqual(Array(4).fill('unknown_key'));
    expect(new Set(attacker.slice(4))).toEqual(new Set(['jwks_unavailable']));
    expect(fx.issuer.count('/org/junk4/.well-known/openid-configuration')).toBe(0);

    const real = await mint({}, { issuer: fx.issuer.issuerAt('/org/new-cluster') });
    expect(await verificationOutcome(verifier.verify(real, { client: '198.51.100.7' }))).toBe('accepted');
  });

  it('keeps the entry-wide bound across clients', async () => {
    const verifier = verifierFor([pattern()], { maxNewIssuersPerInterval: 6, maxNewIssuersPerClient: 4 });
    const results: string[] = [];
    for (let i = 0; i < 8; i++) {
      results.push(await verificationOutcome(verifier.verify(await mint({}, { issuer: fx.issuer.issuerAt(`/org/o${i}`) }), { client: `10.0.0.${i}` })));
    }
    expect(results).toEqual([...Array(6).fill('accepted'), 'jwks_unavailable', 'jwks_unavailable']);
  });
});
