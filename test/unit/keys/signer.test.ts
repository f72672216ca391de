import { createPublicKey, verify } from 'node:crypto';
import { compactVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenSigner, libtrustKeyId } from '../../../src/keys/index.js';
import { decodeSegment, p256, rsa } from './helpers.js';

const claims = { iss: 'portcullis', sub: 'alice', aud: 'registry', exp: 2, nbf: 1, iat: 1, jti: 'j', access: [] };

describe('createTokenSigner', () => {
  it('ES256: raw 64-byte r||s signature that node:crypto (ieee-p1363) and jose verify', async () => {
    const key = p256();
    const signer = createTokenSigner({ alg: 'ES256', privateKey: key, kid: libtrustKeyId(key) });
    const token = signer.sign(claims);
    const [header, payload, signature] = token.split('.');
    expect(token.split('.')).toHaveLength(3);
    const rawSignature = Buffer.from(signature ?? '', 'base64url');
    expect(rawSignature).toHaveLength(64);
    expect(
      verify('sha256', Buffer.from(`${header}.${payload}`), { key: createPublicKey(key), dsaEncoding: 'ieee-p1363' }, rawSignature),
    ).toBe(true);
    const verified = await compactVerify(token, createPublicKey(key));
    expect(verified.protectedHeader).toEqual({ typ: 'JWT', alg: 'ES256', kid: libtrustKeyId(key) });
    expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual(claims);
  });

  it('RS256: PKCS#1 v1.5 signature that jose verifies', async () => {
    const key = rsa();
    const signer = createTokenSigner({ alg: 'RS256', privateKey: key, kid: 'k1' });
    const token = signer.sign(claims);
    expect(Buffer.from(token.split('.')[2] ?? '', 'base64url')).toHaveLength(256);
    const { protectedHeader } = await compactVerify(token, createPublicKey(key), { algorithms: ['RS256'] });
    expect(protectedHeader).toEqual({ typ: 'JWT', alg: 'RS256', kid: 'k1' });
  });

  it('a signature does not verify under another key', async () => {
    const signer = createTokenSigner({ alg: 'ES256', privateKey: p256(), kid: 'k' });
    await expect(compactVerify(signer.sign(claims), createPublicKey(p256()))).rejects.toThrow();
  });

  it('puts x5c in the header when given, after typ, alg and kid', () => {
    const signer = createTokenSigner({ alg: 'ES256', privateKey: p256(), kid: 'k', x5c: ['AAAA'] });
    const header = decodeSegment(signer.sign({}).split('.')[0] ?? '');
    expect(Object.keys(header)).toEqual(['typ', 'alg', 'kid', 'x5c']);
    expect(header.x5c).toEqual(['AAAA']);
  });

  it('refuses mismatched keys, public keys and empty kids', () => {
    expect(() => createTokenSigner({ alg: 'ES256', privateKey: rsa(), kid: 'k' })).toThrow(/ES256 needs an EC P-256 key/);
    expect(() => createTokenSigner({ alg: 'ES256', privateKey: createPublicKey(p256()), kid: 'k' })).toThrow(/private key/);
    expect(() => createTokenSigner({ alg: 'ES256', privateKey: p256(), kid: '' })).toThrow(/kid/);
  });
});
