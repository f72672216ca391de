import { X509Certificate as NodeX509, createPublicKey, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KeyError,
  chainToX5c,
  createSelfSignedCertificate,
  leafPublicKey,
  loadCertificateForKey,
  parseCertificateChain,
} from '../../../src/keys/index.js';
import * as x509 from '../../../src/keys/x509.js';
import { p256, rsa, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

function spki(pem: string): Buffer {
  return new NodeX509(pem).publicKey.export({ type: 'spki', format: 'der' });
}

describe('createSelfSignedCertificate', () => {
  it('creates an ecdsa-with-SHA256 certificate for the key with the configured subject and dates', async () => {
    const key = p256();
    const now = new Date('2030-01-01T00:00:00Z');
    const pem = await createSelfSignedCertificate(key, 'ES256', { subject: 'test signer', days: 10, now });
    const cert = new x509.X509Certificate(pem);
    expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    expect(cert.subject).toBe('CN=test signer');
    expect(cert.issuer).toBe('CN=test signer');
    expect(cert.notBefore.toISOString()).toBe('2029-12-31T23:00:00.000Z');
    expect(cert.notAfter.toISOString()).toBe('2030-01-11T00:00:00.000Z');
    // Positive serial: the first DER byte has the sign bit clear.
    expect(Number.parseInt(cert.serialNumber.slice(0, 2), 16)).toBeLessThan(0x80);
    expect(spki(pem).equals(createPublicKey(key).export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(await cert.verify({ signatureOnly: true })).toBe(true);
    expect(new NodeX509(pem).checkPrivateKey(key)).toBe(true);
  });

  it('uses sha256WithRSAEncryption for RSA keys, the default subject and a five-year validity', async () => {
    const before = Date.now();
    const pem = await createSelfSignedCertificate(rsa(), 'RS256');
    const cert = new x509.X509Certificate(pem);
    expect(cert.signatureAlgorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
    expect(cert.subject).toBe('CN=portcullis token signer');
    const days = (cert.notAfter.getTime() - before) / 86_400_000;
    expect(days).toBeGreaterThan(1824.9);
    expect(days).toBeLessThan(1825.1);
  });

  it('gives different random serials', async () => {
    const key = p256();
    const a = new x509.X509Certificate(await createSelfSignedCertificate(key, 'ES256'));
    const b = new x509.X509Certificate(await createSelfSignedCertificate(key, 'ES256'));
    expect(a.serialNumber).not.toBe(b.serialNumber);
  });

  it('refuses a key that does not fit the algorithm, and bad options', async () => {
    await expect(createSelfSignedCertificate(rsa(), 'ES256')).rejects.toThrow(KeyError);
    await expect(createSelfSignedCertificate(p256(), 'ES256', { days: 0 })).rejects.toThrow(/days/);
  });
});

describe('loading certificates', () => {
  it('accepts the matching certificate and exposes its key', async () => {
    const key = p256();
    const pem = await createSelfSignedCertificate(key, 'ES256');
    const chain = await loadCertificateForKey(pem, key);
    expect(leafPublicKey(chain).equals(createPublicKey(key))).toBe(true);
  });

  it('fails naming the file when the certificate belongs to another key (distribution#3941)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'other.crt');
    await writeFile(path, await createSelfSignedCertificate(p256(), 'ES256'));
    await expect(loadCertificateForKey(path, p256())).rejects.toThrow(
      `${path}: the certificate's public key does not match the signing key`,
    );
  });

  it('parses a chain leaf first and emits standard padded base64 x5c', async () => {
    const leafKey = p256();
    const leaf = await createSelfSignedCertificate(leafKey, 'ES256');
    const other = await createSelfSignedCertificate(rsa(), 'RS256');
    const chain = parseCertificateChain(`junk\n${leaf}\n${other}`);
    expect(chain.der).toHaveLength(2);
    const x5c = chainToX5c(chain);
    for (const value of x5c) {
      expect(value).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
      expect(value.length % 4).toBe(0);
    }
    expect(Buffer.from(x5c[0] ?? '', 'base64').equals(new NodeX509(leaf).raw)).toBe(true);
  });

  it('rejects files without certificates and SHA-1 signed certificates (P19)', async () => {
    expect(() => parseCertificateChain('nothing here', 'x.crt')).toThrow('x.crt: no CERTIFICATE block found');
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const sha1 = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=old',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-1' },
    });
    expect(() => parseCertificateChain(sha1.toString('pem'), 'old.crt')).toThrow(/old\.crt: certificate 1 is signed with SHA-1/);
  });
});
