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

  it('enforces maxTokenAge and then requires iat', () => {
    const strict = issuer({ maxTokenAge: 600, clockSkew: 0 });
    expect(checkClaims(valid({ iat: NOW - 600 }), strict, NOW).validUntil).toBe(NOW + 0);
    expect(failure(valid({ iat: NOW - 601 }), strict).code).toBe('too_old');
    expect(failure(valid({ iat: undefined }), strict).code).toBe('missing_claim');
    expect(checkClaims(valid({ iat: undefined }), issuer(), NOW).validUntil).toBe(NOW + 290);
  });

  it('accepts aud as a string or an array containing a configured audience', () => {
    expect(() => checkClaims(valid({ aud: ['x', 'other'] }), issuer(), NOW)).not.toThrow();
    const wrong = failure(valid({ aud: 'https://github.com/octo-org' }));
    expect(wrong.code).toBe('wrong_audience');
    expect(wrong.message).toContain('"portcullis"');
    expect(wrong.message).toContain('https://github.com/octo-org');
    expect(failure(valid({ aud: [] })).code).toBe('wrong_audience');
    expect(failure(valid({ aud: undefined })).code).toBe('missing_claim');
    expect(failure(valid({ aud: [1] })).code).toBe('malformed');
    expect(failure(valid({ aud: { portcullis: true } })).code).toBe('malformed');
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
