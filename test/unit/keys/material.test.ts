import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KeyError,
  assertKeyMatchesAlg,
  generateSigningKey,
  inferAlgorithm,
  libtrustKeyId,
  loadPrivateKey,
  parsePrivateKeyPem,
} from '../../../src/keys/index.js';
import { p256, rsa, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

describe('generateSigningKey', () => {
  it('generates P-256 for ES256 by default', async () => {
    const key = await generateSigningKey();
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('generates 2048-bit RSA for RS256 and refuses smaller sizes', async () => {
    const key = await generateSigningKey('RS256');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    await expect(generateSigningKey('RS256', { modulusLength: 1024 })).rejects.toMatchObject({ code: 'weak_key' });
  });
});

describe('parsePrivateKeyPem / loadPrivateKey', () => {
  it('accepts PKCS#8 and SEC1 EC keys', () => {
    const key = p256();
    const pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    const sec1 = key.export({ type: 'sec1', format: 'pem' }).toString();
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    for (const pem of [pkcs8, sec1]) expect(libtrustKeyId(parsePrivateKeyPem(pem, 'ES256'))).toBe(libtrustKeyId(key));
  });

  it('accepts PKCS#1 RSA keys', () => {
    const pem = rsa().export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pem).toContain('BEGIN RSA PRIVATE KEY');
    expect(parsePrivateKeyPem(pem, 'RS256').asymmetricKeyType).toBe('rsa');
  });

  it('loads from a file path or a PEM string and names the file on errors', async () => {
    const dir = await tempDir();
    const path = join(dir, 'k.pem');
    const pem = p256().export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeFile(path, pem);
    expect((await loadPrivateKey(path, 'ES256')).asymmetricKeyType).toBe('ec');
    expect((await loadPrivateKey(pem, 'ES256')).asymmetricKeyType).toBe('ec');
    await expect(loadPrivateKey(path, 'RS256')).rejects.toThrow(path);
    await expect(loadPrivateKey(join(dir, 'missing.pem'))).rejects.toThrow(/missing\.pem: cannot read/);
  });

  it('rejects RSA keys under 2048 bits', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => parsePrivateKeyPem(pem, 'RS256')).toThrow(/1024 bits; at least 2048/);
    expect(() => parsePrivateKeyPem(pem)).toThrow(KeyError);
  });

  it('rejects a P-384 key for ES256 (pitfall P7)', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => parsePrivateKeyPem(pem, 'ES256')).toThrow(/ES256 needs an EC P-256 key, got EC secp384r1/);
    expect(() => inferAlgorithm(key)).toThrow(KeyError);
  });

  it('rejects a mismatched algorithm, public keys, encrypted keys and junk', () => {
    expect(() => assertKeyMatchesAlg(rsa(), 'ES256')).toThrow(/ES256 needs an EC P-256 key/);
    expect(() => assertKeyMatchesAlg(p256(), 'RS256')).toThrow(/RS256 needs an RSA key/);
    const publicPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parsePrivateKeyPem(publicPem)).toThrow(/no PRIVATE KEY/);
    const encrypted = p256().export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString();
    expect(() => parsePrivateKeyPem(encrypted)).toThrow(/encrypted private keys are not supported/);
    expect(() => parsePrivateKeyPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')).toThrow(/cannot parse/);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => parsePrivateKeyPem(ed)).toThrow(/unsupported key type ed25519/);
  });

  it('infers the algorithm from the key type', () => {
    expect(inferAlgorithm(p256())).toBe('ES256');
    expect(inferAlgorithm(rsa())).toBe('RS256');
  });
});
