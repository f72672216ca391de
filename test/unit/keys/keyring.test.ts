import { X509Certificate as NodeX509, createPublicKey } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  KeyRing,
  createSelfSignedCertificate,
  distributionThumbprint,
  jwkThumbprint,
  libtrustKeyId,
} from '../../../src/keys/index.js';
import type { KeyEntry } from '../../../src/keys/index.js';
import * as x509 from '../../../src/keys/x509.js';
import { p256, rsa } from './helpers.js';

const claims = { iss: 'i', sub: 's', aud: 'a', exp: 2, nbf: 1, iat: 1, jti: 'j', access: [] };

function certsOf(bundle: string): NodeX509[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? []).map((pem) => new NodeX509(pem));
}

describe('KeyRing headers per kid mode', () => {
  it('libtrust mode: kid is the libtrust id, no x5c', async () => {
    const key = p256();
    const ring = await KeyRing.create([{ id: 'a', alg: 'ES256', privateKey: key, kidMode: 'libtrust' }]);
    expect(decodeProtectedHeader(ring.signer.sign(claims))).toEqual({ typ: 'JWT', alg: 'ES256', kid: libtrustKeyId(key) });
    expect(ring.signer.kid).toBe(libtrustKeyId(key));
  });

  it('thumbprint mode: kid is the distribution-compatible thumbprint', async () => {
    const key = rsa();
    const ring = await KeyRing.create([{ id: 'a', alg: 'RS256', privateKey: key, kidMode: 'thumbprint' }]);
    expect(decodeProtectedHeader(ring.signer.sign(claims))).toEqual({ typ: 'JWT', alg: 'RS256', kid: distributionThumbprint(key) });
    expect(ring.keys[0]?.kids.jwkThumbprint).toBe(await jwkThumbprint(key));
  });

  it('x5c mode: padded standard base64 leaf certificate of the signing key, plus the libtrust kid', async () => {
    const key = p256();
    const ring = await KeyRing.create([{ id: 'a', alg: 'ES256', privateKey: key, kidMode: 'x5c' }]);
    const header = decodeProtectedHeader(ring.signer.sign(claims));
    expect(header.kid).toBe(libtrustKeyId(key));
    expect(header.x5c).toHaveLength(1);
    const x5c = header.x5c?.[0] ?? '';
    expect(x5c).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(x5c.length % 4).toBe(0);
    const cert = new NodeX509(Buffer.from(x5c, 'base64'));
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(createPublicKey(key).export({ type: 'spki', format: 'der' }));
    expect(new x509.X509Certificate(cert.raw).signatureAlgorithm).toMatchObject({ hash: { name: 'SHA-256' } });
    // The header certificate is the one in the bundle, so it is its own trust anchor.
    expect(certsOf(ring.certificateBundle())[0]?.raw).toEqual(cert.raw);
    // and jose verifies the token with that certificate's key
    await compactVerify(ring.signer.sign(claims), cert.publicKey);
  });

  it('an explicit kid overrides the mode (distribution 3.x jwks file)', async () => {
    const ring = await KeyRing.create([{ id: 'a', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust', kid: 'my-key-2025' }]);
    expect(decodeProtectedHeader(ring.signer.sign(claims)).kid).toBe('my-key-2025');
    expect(ring.jwks().keys[0]?.kid).toBe('my-key-2025');
  });
});

describe('KeyRing rotation and publication', () => {
  it('publishes both keys but signs with the active one', async () => {
    const oldKey = p256();
    const newKey = rsa();
    const ring = await KeyRing.create([
      { id: 'old', alg: 'ES256', privateKey: oldKey, kidMode: 'libtrust' },
      { id: 'new', alg: 'RS256', privateKey: newKey, kidMode: 'libtrust', active: true },
    ]);
    expect(ring.keys.map((k) => [k.id, k.active])).toEqual([
      ['old', false],
      ['new', true],
    ]);
    expect(ring.active.id).toBe('new');
    const token = ring.signer.sign(claims);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', kid: libtrustKeyId(newKey) });
    await compactVerify(token, createPublicKey(newKey));
    await expect(compactVerify(token, createPublicKey(oldKey))).rejects.toThrow();

    const jwks = ring.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([libtrustKeyId(oldKey), libtrustKeyId(newKey)]);
    // A verifier holding only the JWKS finds the key by kid.
    await compactVerify(token, createLocalJWKSet(jwks));

    const bundle = certsOf(ring.certificateBundle());
    expect(bundle).toHaveLength(2);
    expect(bundle[0]?.checkPrivateKey(oldKey)).toBe(true);
    expect(bundle[1]?.checkPrivateKey(newKey)).toBe(true);
  });

  it('signs with the first key when none is marked active', async () => {
    const first = p256();
    const ring = await KeyRing.create([
      { id: 'a', alg: 'ES256', privateKey: first, kidMode: 'libtrust' },
      { id: 'b', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust' },
    ]);
    expect(ring.signer.kid).toBe(libtrustKeyId(first));
  });

  it('jwks() has public members only', async () => {
    const ring = await KeyRing.create([
      { id: 'ec', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust' },
      { id: 'rsa', alg: 'RS256', privateKey: rsa(), kidMode: 'thumbprint' },
    ]);
    const [ec, rs] = ring.jwks().keys;
    expect(Object.keys(ec ?? {}).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(Object.keys(rs ?? {}).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(JSON.stringify(ring.jwks())).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
    // Callers get copies: mutating one does not change the ring.
    ring.jwks().keys.pop();
    expect(ring.jwks().keys).toHaveLength(2);
  });

  it('includes x5c in the JWKS for a configured certificate', async () => {
    const key = p256();
    const certificatePem = await createSelfSignedCertificate(key, 'ES256');
    const ring = await KeyRing.create([{ id: 'a', alg: 'ES256', privateKey: key, certificatePem, kidMode: 'libtrust' }]);
    expect(ring.jwks().keys[0]?.x5c).toEqual([new NodeX509(certificatePem).raw.toString('base64')]);
    expect(ring.certificateBundle()).toBe(certificatePem);
    expect(ring.keys[0]?.certificateProvided).toBe(true);
  });

  it('returns the same generated bundle on every call and for every ring of the same key', async () => {
    const key = p256();
    const entry: KeyEntry = { id: 'a', alg: 'ES256', privateKey: key, kidMode: 'libtrust' };
    const ring = await KeyRing.create([entry]);
    const again = await KeyRing.create([entry]);
    expect(ring.certificateBundle()).toBe(ring.certificateBundle());
    expect(again.certificateBundle()).toBe(ring.certificateBundle());
    expect(ring.keys[0]?.certificateProvided).toBe(false);
  });
});

describe('KeyRing validation', () => {
  it('rejects empty rings, duplicate ids, two active keys and duplicate kids', async () => {
    const key = p256();
    await expect(KeyRing.create([])).rejects.toThrow(/at least one/);
    await expect(
      KeyRing.create([
        { id: 'a', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust' },
        { id: 'a', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust' },
      ]),
    ).rejects.toThrow(/duplicate key id "a"/);
    await expect(
      KeyRing.create([
        { id: 'a', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust', active: true },
        { id: 'b', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust', active: true },
      ]),
    ).rejects.toThrow(/only one key may be active/);
    await expect(
      KeyRing.create([
        { id: 'a', alg: 'ES256', privateKey: key, kidMode: 'libtrust' },
        { id: 'b', alg: 'ES256', privateKey: key, kidMode: 'x5c' },
      ]),
    ).rejects.toThrow(/would both use kid/);
  });

  it('rejects a certificate of another key, naming its source', async () => {
    const certificatePem = await createSelfSignedCertificate(p256(), 'ES256');
    await expect(
      KeyRing.create([
        { id: 'a', alg: 'ES256', privateKey: p256(), certificatePem, certificateSource: '/etc/portcullis/a.crt', kidMode: 'x5c' },
      ]),
    ).rejects.toThrow("/etc/portcullis/a.crt: the certificate's public key does not match the signing key");
  });

  it('rejects an expired certificate in x5c mode only', async () => {
    const key = p256();
    const certificatePem = await createSelfSignedCertificate(key, 'ES256', { days: 1, now: new Date('2020-01-01T00:00:00Z') });
    const entry: KeyEntry = { id: 'a', alg: 'ES256', privateKey: key, certificatePem, kidMode: 'x5c' };
    await expect(KeyRing.create([entry])).rejects.toThrow(/registries reject it in x5c mode/);
    await expect(KeyRing.create([{ ...entry, kidMode: 'libtrust' }])).resolves.toBeInstanceOf(KeyRing);
  });

  it('rejects a key that does not fit its alg and kids with control characters', async () => {
    await expect(KeyRing.create([{ id: 'a', alg: 'ES256', privateKey: rsa(), kidMode: 'libtrust' }])).rejects.toThrow(
      /key "a": ES256 needs an EC P-256 key/,
    );
    await expect(KeyRing.create([{ id: 'a', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust', kid: 'a\nb' }])).rejects.toThrow(
      /printable ASCII/,
    );
  });
});
