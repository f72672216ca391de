/**
 * The verifier against static key sets: every algorithm, and the forgeries that must fail.
 * A fetch that throws proves no path here touches the network.
 */
import { createHash, createHmac, createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type IssuerConfig } from '../../../src/identity/index.js';
import { identityErrorCode } from '../../helpers/identity.js';

const ISS = 'https://ci.example.com';
const ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
type Alg = (typeof ALGS)[number];

const keys = new Map<Alg, { privateKey: CryptoKey; jwk: JWK }>();
const noNetwork = (() => {
  throw new Error('network access in a static-JWKS test');
}) as unknown as typeof fetch;

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);
const payload = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISS,
  sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
  aud: 'portcullis',
  iat: now(),
  exp: now() + 300,
  ...extra,
});

function config(extra: Partial<IssuerConfig> = {}): IssuerConfig {
  return {
    id: 'ci',
    issuer: ISS,
    audiences: ['portcullis'],
    algorithms: [...ALGS],
    jwks: { keys: [...keys.values()].map((k) => k.jwk) },
    ...extra,
  };
}

async function mint(alg: Alg, claims = payload(), header: Record<string, unknown> = {}): Promise<string> {
  const key = keys.get(alg);
  if (!key) throw new Error(`no ${alg} key`);
  return new SignJWT(claims).setProtectedHeader({ alg, kid: key.jwk.kid, ...header }).sign(key.privateKey);
}

beforeAll(async () => {
  for (const alg of ALGS) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    keys.set(alg, { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: `kid-${alg}` } });
  }
});

describe('verifier with a static JWKS', () => {
  it.each(ALGS)('verifies %s tokens', async (alg) => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    const token = await mint(alg, payload({ jti: `jti-${alg}`, extra: { nested: [1] } }));
    const identity = await verifier.verify(token);
    expect(identity).toMatchObject({ issuer: ISS, issuerId: 'ci', subject: 'repo:octo-org/octo-repo:ref:refs/heads/main' });
    expect(identity.tokenId).toBe(`jti-${alg}`);
    expect(identity.tokenHash).toBe(createHash('sha256').update(token).digest('base64url'));
    expect(identity.claims.extra).toEqual({ nested: [1] });
    expect(Object.isFrozen(identity.claims)).toBe(true);
  });

  it('refuses algorithms outside the issuer allowlist', async () => {
    const verifier = createVerifier([config({ algorithms: ['RS256'] })], { fetch: noNetwork });
    const error = verifier.verify(await mint('ES256'));
    expect(await identityErrorCode(error)).toBe('unsupported_alg');
  });

  it('refuses alg none', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    expect(await identityErrorCode(verifier.verify(`${b64({ alg: 'none' })}.${b64(payload())}.`))).toBe('unsupported_alg');
    expect(await identityErrorCode(verifier.verify(`${b64({ alg: 'none' })}.${b64(payload())}.AAAA`))).toBe('unsupported_alg');
  });

  it('refuses HS256 "signed" with the public key as the HMAC secret', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    const jwk = keys.get('RS256')?.jwk;
    const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    for (const secret of [pem, JSON.stringify(jwk)]) {
      const input = `${b64({ alg: 'HS256', kid: 'kid-RS256' })}.${b64(payload())}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expect(await identityErrorCode(verifier.verify(token))).toBe('unsupported_alg');
    }
  });

  it('refuses a header alg that does not fit the key type (RSA key, ES256 header)', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    const input = `${b64({ alg: 'ES256', kid: 'kid-RS256' })}.${b64(payload())}`;
    const error = verifier.verify(`${input}.${randomBytes(64).toString('base64url')}`);
    await expect(error).rejects.toThrow(/RSA.*cannot verify ES256/);
    // And the other way round, plus a curve mismatch (P-384 key, ES256 header).
    const rsaHeaderOnEcKey = `${b64({ alg: 'RS256', kid: 'kid-ES256' })}.${b64(payload())}`;
    expect(await identityErrorCode(verifier.verify(`${rsaHeaderOnEcKey}.${randomBytes(256).toString('base64url')}`))).toBe('bad_signature');
    const curveMismatch = `${b64({ alg: 'ES256', kid: 'kid-ES384' })}.${b64(payload())}`;
    expect(await identityErrorCode(verifier.verify(`${curveMismatch}.${randomBytes(64).toString('base64url')}`))).toBe('bad_signature');
  });

  it('refuses a key whose JWK pins a different alg', async () => {
    const rs = keys.get('RS256');
    if (!rs) throw new Error('setup');
    const verifier = createVerifier([config({ jwks: { keys: [{ ...rs.jwk, alg: 'PS256' }] } })], { fetch: noNetwork });
    expect(await identityErrorCode(verifier.verify(await mint('RS256')))).toBe('bad_signature');
  });

  it('refuses a tampered payload', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      const [header, , signature] = (await mint(alg)).split('.');
      const forged = `${header}.${b64(payload({ sub: 'repo:octo-org/other:ref:refs/heads/main' }))}.${signature}`;
      expect(await identityErrorCode(verifier.verify(forged))).toBe('bad_signature');
    }
  });

  it('refuses an ES256 signature in DER form', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    const [header, body] = (await mint('ES256')).split('.');
    expect(await identityErrorCode(verifier.verify(`${header}.${body}.${randomBytes(70).toString('base64url')}`))).toBe('bad_signature');
  });

  it('refuses an unknown kid and a crit header', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    expect(await identityErrorCode(verifier.verify(await mint('RS256', payload(), { kid: 'nope' })))).toBe('unknown_key');
    expect(await identityErrorCode(verifier.verify(await mint('RS256', payload(), { crit: ['b64'], b64: true })))).toBe('unsupported_alg');
  });

  it('accepts a token without kid only when exactly one key fits its alg', async () => {
    const rs = keys.get('RS256');
    const ps = keys.get('PS256');
    if (!rs || !ps) throw new Error('setup');
    const token = await new SignJWT(payload()).setProtectedHeader({ alg: 'RS256' }).sign(rs.privateKey);
    const single = createVerifier([config({ jwks: { keys: [rs.jwk, keys.get('ES256')?.jwk ?? {}] } })], { fetch: noNetwork });
    await expect(single.verify(token)).resolves.toMatchObject({ issuerId: 'ci' });
    const ambiguous = createVerifier([config({ jwks: { keys: [rs.jwk, { ...ps.jwk, kid: 'other' }] } })], { fetch: noNetwork });
    expect(await identityErrorCode(ambiguous.verify(token))).toBe('unknown_key');
  });

  it('refuses untrusted issuers with an operator-friendly message', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    const error = verifier.verify(await mint('RS256', payload({ iss: 'https://evil.example.com' })));
    await expect(error).rejects.toThrow('issuer "https://evil.example.com" is not configured');
  });

  it('refuses oversized tokens without parsing them', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    expect(await identityErrorCode(verifier.verify(await mint('RS256', payload({ pad: 'x'.repeat(17_000) }))))).toBe('malformed');
  });

  it('never echoes the token in error messages', async () => {
    const verifier = createVerifier([config()], { fetch: noNetwork });
    const token = await mint('RS256', payload({ aud: 'someone-else' }));
    const error = (await verifier.verify(token).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain(token.split('.')[2]);
    expect(error.message).not.toContain(token.split('.')[1]);
  });

  it('refuses a static JWKS without usable keys at construction', () => {
    expect(() => createVerifier([config({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } })])).toThrow(/no usable/);
    const rs = keys.get('RS256');
    expect(() => createVerifier([config({ jwks: { keys: [{ ...rs?.jwk, use: 'enc' }] } })])).toThrow(/no usable/);
  });
});
