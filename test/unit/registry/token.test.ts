import { describe, expect, it } from 'vitest';
import { buildClaims, tokenResponse } from '../../../src/registry/index.js';

const now = Date.UTC(2026, 10, 26, 12, 0, 0) + 789; // fractional second on purpose

describe('buildClaims', () => {
  const claims = buildClaims({ issuer: 'portcullis', subject: 'ci', service: 'reg', access: [], lifetime: 300.7, now });

  it('uses integer times with exp = iat + lifetime and nbf = iat (P5)', () => {
    for (const k of ['iat', 'nbf', 'exp'] as const) expect(Number.isInteger(claims[k])).toBe(true);
    expect(claims.iat).toBe(Math.floor(now / 1000));
    expect(claims.exp).toBe(claims.iat + 300);
    expect(claims.nbf).toBe(claims.iat);
  });

  it('writes aud as a string equal to the service (P4)', () => {
    expect(typeof claims.aud).toBe('string');
    expect(claims.aud).toBe('reg');
  });

  it('raises lifetimes below the clients’ minimum of 60 s', () => {
    const short = buildClaims({ issuer: 'i', subject: '', service: 's', access: [], lifetime: 5, now });
    expect(short.exp - short.iat).toBe(60);
  });

  it('gives every token a distinct jti', () => {
    const other = buildClaims({ issuer: 'portcullis', subject: 'ci', service: 'reg', access: [], lifetime: 300, now });
    expect(other.jti).not.toBe(claims.jti);
    expect(claims.jti.length).toBeGreaterThanOrEqual(16);
  });
});

describe('tokenResponse', () => {
  const claims = buildClaims({
    issuer: 'portcullis',
    subject: 'ci',
    service: 'reg',
    access: [
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c', actions: [] },
    ],
    lifetime: 300,
    now,
  });

  it('sends token and access_token with the same value, an integer expires_in and an RFC 3339 issued_at equal to iat', () => {
    const body = tokenResponse('jwt', claims);
    expect(body.token).toBe('jwt');
    expect(body.access_token).toBe('jwt');
    expect(body.expires_in).toBe(300);
    expect(Number.isInteger(body.expires_in)).toBe(true);
    expect(body.issued_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(body.issued_at) / 1000).toBe(claims.iat);
    expect(body).not.toHaveProperty('refresh_token');
    expect(body).not.toHaveProperty('scope');
    // The formatted second is reused only for the same second.
    for (const iat of [claims.iat + 1, claims.iat, claims.iat + 86_400]) {
      expect(Date.parse(tokenResponse('jwt', { ...claims, iat, exp: iat + 300 }).issued_at) / 1000).toBe(iat);
    }
  });

  it('adds the granted scope list and token_type for OAuth2 POST responses', () => {
    const body = tokenResponse('jwt', claims, { oauth: true });
    expect(body.scope).toBe('repository:a/b:pull,push');
    expect(body.token_type).toBe('Bearer');
  });
});
