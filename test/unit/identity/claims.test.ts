import { describe, expect, it } from 'vitest';
import { checkClaims } from '../../../src/identity/claims.js';
import { IssuerRegistry, type IssuerConfig, type TrustedIssuer } from '../../../src/identity/issuer-registry.js';
import { IdentityError } from '../../../src/identity/types.js';

const NOW = 1_750_000_000;

function issuer(extra: Partial<IssuerConfig> = {}): TrustedIssuer {
  const config: IssuerConfig = { id: 'ci', issuer: 'https://ci.example.com', audiences: ['portcullis', 'other'], ...extra };
  const entry = new IssuerRegistry([config]).match(config.issuer);
  if (!entry) throw new Error('test setup: no entry');
  return entry;
}

const valid = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: 'https://ci.example.com',
  sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
  aud: 'portcullis',
  iat: NOW - 10,
  nbf: NOW - 10,
  exp: NOW + 290,
  jti: 'id-1',
  ...extra,
});

function failure(payload: Record<string, unknown>, entry = issuer(), now = NOW): IdentityError {
  try {
    checkClaims(payload, entry, now);
  } catch (error) {
    if (error instanceof IdentityError) return error;
    throw error;
  }
  throw new Error('expected checkClaims to throw');
}

describe('checkClaims', () => {
  it('accepts a valid payload and reports subject, expiry and jti', () => {
    expect(checkClaims(valid(), issuer(), NOW)).toEqual({
      subject: 'repo:octo-org/octo-repo:ref:refs/heads/main',
      expiresAt: NOW + 290,
      tokenId: 'id-1',
      validUntil: NOW + 290,
    });
  });

  it('requires exp and accepts fractional exp', () => {
    expect(failure(valid({ exp: undefined })).code).toBe('missing_claim');
    expect(failure(valid({ exp: String(NOW + 100) })).code).toBe('malformed');
    expect(checkClaims(valid({ exp: NOW + 0.5 }), issuer(), NOW).expiresAt).toBe(NOW + 0.5);
  });

  it('refuses expired tokens beyond the clock skew only', () => {
    expect(() => checkClaims(valid({ exp: NOW - 59 }), issuer(), NOW)).not.toThrow();
    expect(failure(valid({ exp: NOW - 60 })).code).toBe('expired');
    expect(failure(valid({ exp: NOW - 1 }), issuer({ clockSkew: 0 })).code).toBe('expired');
    expect(failure(valid({ exp: NOW }), issuer({ clockSkew: 0 })).code).toBe('expired');
  });

  it('respects nbf with the clock skew', () => {
    expect(() => checkClaims(valid({ nbf: NOW + 60 }), issuer(), NOW)).not.toThrow();
    expect(failure(valid({ nbf: NOW + 61 })).code).toBe('not_yet_valid');
  });

  it('refuses iat in the future beyond the skew', () => {
    expect(() => checkClaims(valid({ iat: NOW + 60 }), issuer(), NOW)).not.toThrow();
    const error = failure(valid({ iat: NOW + 120, nbf: undefined }));
    expect(error.code).toBe('issued_in_future');
    expect(error.message).toMatch(/clock/);
  });

  it('enforces maxTokenAge', () => {
    const strict = issuer({ maxTokenAge: 600, clockSkew: 0 });
    expect(checkClaims(valid({ iat: NOW - 600 }), strict, NOW).validUntil).toBe(NOW + 0);
    expect(failure(valid({ iat: NOW - 601 }), strict).code).toBe('too_old');
    expect(failure(valid({ iat: undefined }), strict).code).toBe('missing_claim');
  });

  it('requires iat on every issuer (OIDC Core: iat is a required ID-token claim)', () => {
    const error = failure(valid({ iat: undefined }));
    expect(error.code).toBe('missing_claim');
    expect(error.message).toMatch(/iat/);
  });

  it('refuses a lifetime (exp - iat) above maxTokenLifetime, 24 h by default', () => {
    const day = 86_400;
    expect(() => checkClaims(valid({ iat: NOW - 10, exp: NOW - 10 + day }), issuer(), NOW)).not.toThrow();
    const long = failure(valid({ iat: NOW - 10, exp: NOW - 10 + day + 1 }));
    expect(long.code).toBe('lifetime_too_long');
    expect(long.message).toMatch(/86400/);
    expect(failure(valid({ exp: NOW + 3_600 }), issuer({ maxTokenLifetime: 600 })).code).toBe('lifetime_too_long');
    expect(() => checkClaims(valid({ exp: NOW + 290 }), issuer({ maxTokenLifetime: 600 }), NOW)).not.toThrow();
  });

  it('catches exp written in milliseconds through the lifetime bound', () => {
    expect(failure(valid({ exp: (NOW + 290) * 1000 })).code).toBe('lifetime_too_long');
  });

  it('accepts aud as a string or an array containing a configured audience', () => {
    expect(() => checkClaims(valid({ aud: ['portcullis', 'other'] }), issuer(), NOW)).not.toThrow();
    expect(() => checkClaims(valid({ aud: ['x', 'other'], azp: 'other' }), issuer(), NOW)).not.toThrow();
    const wrong = failure(valid({ aud: 'https://github.com/octo-org' }));
    expect(wrong.code).toBe('wrong_audience');
    expect(wrong.message).toContain('"portcullis"');
    expect(wrong.message).toContain('https://github.com/octo-org');
    expect(failure(valid({ aud: [] })).code).toBe('wrong_audience');
    expect(failure(valid({ aud: undefined })).code).toBe('missing_claim');
    expect(failure(valid({ aud: [1] })).code).toBe('malformed');
    expect(failure(valid({ aud: { portcullis: true } })).code).toBe('malformed');
  });

  it('requires azp, and one we accept, when aud names audiences besides ours', () => {
    const missing = failure(valid({ aud: ['portcullis', 'https://other.example'] }));
    expect(missing.code).toBe('wrong_authorized_party');
    expect(missing.message).toMatch(/azp/);
    expect(failure(valid({ aud: ['portcullis', 'https://other.example'], azp: 'https://other.example' })).code).toBe('wrong_authorized_party');
    expect(() => checkClaims(valid({ aud: ['portcullis', 'https://other.example'], azp: 'portcullis' }), issuer(), NOW)).not.toThrow();
    const configured = issuer({ authorizedParties: ['client-a'] });
    expect(() => checkClaims(valid({ aud: ['portcullis', 'https://other.example'], azp: 'client-a' }), configured, NOW)).not.toThrow();
    expect(failure(valid({ aud: ['portcullis', 'https://other.example'], azp: 'portcullis' }), configured).code).toBe('wrong_authorized_party');
  });

  it('refuses any azp the issuer entry does not allow, even with our audience alone', () => {
    expect(() => checkClaims(valid({ azp: 'portcullis' }), issuer(), NOW)).not.toThrow();
    expect(failure(valid({ azp: '1008719970978-other.apps.googleusercontent.com' })).code).toBe('wrong_authorized_party');
    expect(() => checkClaims(valid({ azp: '117' }), issuer({ authorizedParties: ['117'] }), NOW)).not.toThrow();
    expect(failure(valid({ azp: 117 })).code).toBe('malformed');
  });

  it('requires a non-empty string sub', () => {
    expect(failure(valid({ sub: undefined })).code).toBe('missing_claim');
    expect(failure(valid({ sub: '' })).code).toBe('missing_claim');
    expect(failure(valid({ sub: 42 })).code).toBe('missing_claim');
  });

  it('refuses non-string jti and non-numeric times', () => {
    expect(failure(valid({ jti: 5 })).code).toBe('malformed');
    expect(failure(valid({ nbf: 'soon' })).code).toBe('malformed');
    expect(failure(valid({ iat: null })).code).toBe('malformed');
  });

  it('bounds echoed claim values in messages', () => {
    const error = failure(valid({ aud: 'x'.repeat(5000) }));
    expect(error.message.length).toBeLessThan(400);
  });
});
