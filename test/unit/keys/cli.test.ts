import { X509Certificate as NodeX509, createPublicKey } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { keysCommand } from '../../../src/cli/keys.js';
import {
  KeyRing,
  createSelfSignedCertificate,
  distributionThumbprint,
  libtrustKeyId,
  loadPrivateKey,
} from '../../../src/keys/index.js';
import type { Jwks } from '../../../src/keys/index.js';
import { p256, rsa, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

interface Run {
  stdout: string;
  stderr: string;
  error?: CommanderError;
  configPaths: (string | undefined)[];
}

/** Runs `keys <args>` in-process with captured output; commander errors are returned, not exits. */
async function run(args: string[], ring?: KeyRing): Promise<Run> {
  const result: Run = { stdout: '', stderr: '', configPaths: [] };
  const command = keysCommand({
    loadKeyRing: async (configPath) => {
      result.configPaths.push(configPath);
      if (!ring) throw new Error('no configuration found');
      return ring;
    },
    output: { writeOut: (s) => (result.stdout += s), writeErr: (s) => (result.stderr += s) },
  });
  const exitOverride = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(command);
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    result.error = error;
  }
  return result;
}

describe('keys generate', () => {
  it('writes a 0600 key and a certificate and prints its kids', async () => {
    const dir = await tempDir();
    const keyPath = join(dir, 'sub', 'signing.pem');
    const certPath = join(dir, 'signing.crt');
    const result = await run(['generate', '--out', keyPath, '--cert-out', certPath, '--days', '30', '--subject', 'ci signer']);
    expect(result.error).toBeUndefined();
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    const key = await loadPrivateKey(keyPath, 'ES256');
    const cert = new NodeX509(await readFile(certPath, 'utf8'));
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(cert.subject).toBe('CN=ci signer');
    expect(result.stdout).toContain(`libtrust-kid: ${libtrustKeyId(key)}\n`);
    expect(result.stdout).toContain(`thumbprint: ${distributionThumbprint(key)}\n`);
    expect(result.stdout).toContain('alg: ES256\n');
  });

  it('generates RS256 keys', async () => {
    const keyPath = join(await tempDir(), 'rsa.pem');
    const result = await run(['generate', '--alg', 'RS256', '--out', keyPath]);
    expect(result.error).toBeUndefined();
    expect((await loadPrivateKey(keyPath, 'RS256')).asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('refuses to overwrite existing files and writes nothing then', async () => {
    const dir = await tempDir();
    const keyPath = join(dir, 'k.pem');
    const certPath = join(dir, 'k.crt');
    await writeFile(certPath, 'existing');
    const result = await run(['generate', '--out', keyPath, '--cert-out', certPath]);
    expect(result.error?.exitCode).toBe(1);
    expect(result.stderr).toBe(`error: ${certPath} already exists; refusing to overwrite it\n`);
    await expect(stat(keyPath)).rejects.toThrow(/ENOENT/);
    expect(await readFile(certPath, 'utf8')).toBe('existing');
  });

  it('reports bad options as usage errors (main exits 2 for these)', async () => {
    const out = join(await tempDir(), 'k.pem');
    expect((await run(['generate'])).stderr).toMatch(/required option '--out <key.pem>'/);
    const badAlg = await run(['generate', '--alg', 'HS256', '--out', out]);
    expect(badAlg.error?.code).toBe('commander.invalidArgument');
    expect(badAlg.stderr).toMatch(/Allowed choices are ES256, RS256/);
    expect((await run(['generate', '--out', out, '--days', '0'])).stderr).toMatch(/whole number of days/);
  });
});

describe('keys export', () => {
  it('exports the configured ring as a certificate bundle and as JWKS', async () => {
    const ring = await KeyRing.create([
      { id: 'a', alg: 'ES256', privateKey: p256(), kidMode: 'libtrust' },
      { id: 'b', alg: 'RS256', privateKey: rsa(), kidMode: 'thumbprint', active: true },
    ]);
    const cert = await run(['export', '--format', 'cert', '--config', '/etc/p.yaml'], ring);
    expect(cert.error).toBeUndefined();
    expect(cert.configPaths).toEqual(['/etc/p.yaml']);
    expect(cert.stdout).toBe(ring.certificateBundle());

    const jwks = await run(['export', '--format', 'jwks'], ring);
    expect(jwks.configPaths).toEqual([undefined]);
    expect(JSON.parse(jwks.stdout)).toEqual(ring.jwks());
  });

  it('builds the ring from --key/--cert files and writes --out', async () => {
    const dir = await tempDir();
    const key = p256();
    const keyPath = join(dir, 'k.pem');
    const certPath = join(dir, 'k.crt');
    const outPath = join(dir, 'jwks.json');
    await writeFile(keyPath, key.export({ type: 'sec1', format: 'pem' }));
    const certificate = await createSelfSignedCertificate(key, 'ES256');
    await writeFile(certPath, certificate);

    const result = await run(['export', '--format', 'jwks', '--key', keyPath, '--cert', certPath, '--kid-mode', 'x5c', '--out', outPath]);
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe('');
    const jwks = JSON.parse(await readFile(outPath, 'utf8')) as Jwks;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', kid: libtrustKeyId(key), alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]?.x5c).toEqual([new NodeX509(certificate).raw.toString('base64')]);
    expect(createPublicKey({ key: jwks.keys[0] as JsonWebKey, format: 'jwk' }).equals(createPublicKey(key))).toBe(true);

    const bundle = await run(['export', '--format', 'cert', '--key', keyPath, '--cert', certPath]);
    expect(bundle.stdout).toBe(certificate);
  });

  it('fails with one line naming the certificate file when it does not match the key', async () => {
    const dir = await tempDir();
    const keyPath = join(dir, 'k.pem');
    const certPath = join(dir, 'other.crt');
    await writeFile(keyPath, p256().export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(certPath, await createSelfSignedCertificate(p256(), 'ES256'));
    const result = await run(['export', '--format', 'cert', '--key', keyPath, '--cert', certPath]);
    expect(result.error?.exitCode).toBe(1);
    expect(result.stderr).toBe(`error: ${certPath}: the certificate's public key does not match the signing key\n`);
    expect(result.stdout).toBe('');
  });

  it('reports config loading errors, a missing --format and conflicting sources', async () => {
    const noConfig = await run(['export', '--format', 'cert']);
    expect(noConfig.error?.exitCode).toBe(1);
    expect(noConfig.stderr).toBe('error: no configuration found\n');
    expect((await run(['export'])).stderr).toMatch(/required option '--format <format>'/);
    expect((await run(['export', '--format', 'pem'])).stderr).toMatch(/Allowed choices are cert, jwks/);
    expect((await run(['export', '--format', 'cert', '--kid-mode', 'x5c'])).stderr).toBe(
      'error: --cert and --kid-mode only apply together with --key\n',
    );
    expect((await run(['export', '--format', 'cert', '--config', 'c.yaml', '--key', 'k.pem'])).stderr).toBe(
      'error: use either --config or --key, not both\n',
    );
  });
});

describe('keys show', () => {
  it('prints every key with its alg, active flag and kid per mode', async () => {
    const a = p256();
    const b = p256();
    const ring = await KeyRing.create([
      { id: 'a', alg: 'ES256', privateKey: a, kidMode: 'libtrust' },
      { id: 'b', alg: 'ES256', privateKey: b, kidMode: 'thumbprint', active: true },
    ]);
    const result = await run(['show'], ring);
    expect(result.error).toBeUndefined();
    const [first, second] = result.stdout.split('\n\n');
    expect(first).toContain('a\n  alg: ES256\n  active: no\n  kid-mode: libtrust\n');
    expect(first).toContain(`kid (libtrust, distribution 2.x): ${libtrustKeyId(a)}`);
    expect(first).toContain(`kid (thumbprint, distribution 3.1+): ${distributionThumbprint(a)}`);
    expect(second).toContain('b\n  alg: ES256\n  active: yes\n  kid-mode: thumbprint\n');
    expect(second).toContain(`  kid: ${distributionThumbprint(b)}\n`);
  });
});
