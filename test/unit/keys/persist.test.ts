import { X509Certificate as NodeX509 } from 'node:crypto';
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KeyRing,
  certificatePathFor,
  createSelfSignedCertificate,
  libtrustKeyId,
  loadOrCreateKeyFile,
  writeFileExclusive,
} from '../../../src/keys/index.js';
import { p256, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

describe('loadOrCreateKeyFile', () => {
  it('creates the directory, a PKCS#8 key with mode 0600 and its certificate, then reuses both', async () => {
    const dir = await tempDir();
    const path = join(dir, 'nested', 'keys', 'signing.pem');
    const first = await loadOrCreateKeyFile(path, 'ES256');
    expect(first.created).toBe(true);
    expect(first.warnings).toEqual([]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    expect(first.certificatePath).toBe(join(dir, 'nested', 'keys', 'signing.crt'));
    expect(new NodeX509(first.certificatePem).checkPrivateKey(first.privateKey)).toBe(true);

    const second = await loadOrCreateKeyFile(path, 'ES256');
    expect(second.created).toBe(false);
    expect(libtrustKeyId(second.privateKey)).toBe(libtrustKeyId(first.privateKey));
    expect(second.certificatePem).toBe(first.certificatePem);
    // No temp files are left behind.
    expect((await readdir(join(dir, 'nested', 'keys'))).sort()).toEqual(['signing.crt', 'signing.pem']);
  });

  it('keeps the rootcertbundle stable across "restarts"', async () => {
    const path = join(await tempDir(), 'k.pem');
    const bundle = async (): Promise<string> => {
      const key = await loadOrCreateKeyFile(path, 'RS256');
      const ring = await KeyRing.create([
        { id: 'k', alg: 'RS256', privateKey: key.privateKey, certificatePem: key.certificatePem, kidMode: 'x5c' },
      ]);
      return ring.certificateBundle();
    };
    expect(await bundle()).toBe(await bundle());
  });

  it('converges on one key when called concurrently', async () => {
    const path = join(await tempDir(), 'k.pem');
    const results = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateKeyFile(path, 'ES256')));
    expect(new Set(results.map((r) => libtrustKeyId(r.privateKey))).size).toBe(1);
    expect(new Set(results.map((r) => r.certificatePem)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('regenerates a missing certificate but rejects one for another key, naming the file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'k.key');
    const created = await loadOrCreateKeyFile(path, 'ES256');
    await writeFile(certificatePathFor(path), await createSelfSignedCertificate(p256(), 'ES256'));
    await expect(loadOrCreateKeyFile(path, 'ES256')).rejects.toThrow(
      `${join(dir, 'k.crt')}: the certificate's public key does not match the signing key`,
    );
    expect(created.certificatePath).toBe(join(dir, 'k.crt'));
  });

  it('refuses a key of the wrong algorithm and warns about a readable key file', async () => {
    const path = join(await tempDir(), 'k.pem');
    await loadOrCreateKeyFile(path, 'ES256');
    await expect(loadOrCreateKeyFile(path, 'RS256')).rejects.toThrow(`${path}: RS256 needs an RSA key`);
    await chmod(path, 0o644);
    const loaded = await loadOrCreateKeyFile(path, 'ES256');
    expect(loaded.warnings).toEqual([expect.stringContaining('mode 0644')]);
  });
});

describe('writeFileExclusive', () => {
  it('never overwrites an existing file', async () => {
    const path = join(await tempDir(), 'x');
    await writeFileExclusive(path, 'one', 0o600);
    await expect(writeFileExclusive(path, 'two', 0o600)).rejects.toMatchObject({ code: 'file_exists' });
    expect(await readFile(path, 'utf8')).toBe('one');
  });
});
