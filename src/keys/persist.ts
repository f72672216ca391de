import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { assertCertificateMatchesKey, createSelfSignedCertificate, parseCertificateChain } from './certificate.js';
import type { CertificateOptions } from './certificate.js';
import { KeyError } from './errors.js';
import { isNotFound, writeFileExclusive } from './files.js';
import { exportPrivateKeyPem, generateSigningKey, parsePrivateKeyPem } from './material.js';
import type { SigningAlgorithm } from './types.js';

export interface PersistedKey {
  privateKey: KeyObject;
  /** The certificate file beside the key, checked to certify it (leaf first, may hold intermediates). */
  certificatePem: string;
  keyPath: string;
  certificatePath: string;
  /** True when this call generated the key (and, unless a dry run, wrote it). */
  created: boolean;
  /** Things an operator should fix, e.g. a key file other users can read. */
  warnings: string[];
}

/** `<dir>/<name>.crt` for `<dir>/<name>.<ext>`. */
export function certificatePathFor(keyPath: string): string {
  const name = basename(keyPath, extname(keyPath));
  return join(dirname(keyPath), `${name}.crt`);
}

/**
 * Loads the key at `path`, or generates one there (PKCS#8, mode 0600) if the file does
 * not exist. Its certificate is kept beside it so the registry's rootcertbundle (and the
 * x5c header) stay the same across restarts. Concurrent callers converge on one key.
 */
export async function loadOrCreateKeyFile(
  path: string,
  alg: SigningAlgorithm,
  options: CertificateOptions = {},
  { write = true }: { write?: boolean } = {},
): Promise<PersistedKey> {
  const certificatePath = certificatePathFor(path);
  if (certificatePath === path) throw new KeyError('invalid_key', `${path}: a key file must not end in .crt`);
  if (!write) return readOnlyKey(path, certificatePath, alg, options);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });

  let created = false;
  let pem = await readIfExists(path);
  if (pem === undefined) {
    const key = await generateSigningKey(alg);
    try {
      await writeFileExclusive(path, exportPrivateKeyPem(key), 0o600);
      created = true;
    } catch (error) {
      // Another process won the race: use its key.
      if (!(error instanceof KeyError && error.code === 'file_exists')) throw error;
    }
    pem = await readFile(path, 'utf8');
  }
  const privateKey = parsePrivateKeyPem(pem, alg, path);

  const warnings: string[] = [];
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) warnings.push(`${path} is accessible to other users (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);

  if ((await readIfExists(certificatePath)) === undefined) {
    try {
      await writeFileExclusive(certificatePath, await createSelfSignedCertificate(privateKey, alg, options), 0o644);
    } catch (error) {
      if (!(error instanceof KeyError && error.code === 'file_exists')) throw error;
    }
  }
  // Re-read and check even what we just wrote: the file on disk is what the registry gets.
  const certificatePem = await readFile(certificatePath, 'utf8');
  assertCertificateMatchesKey(parseCertificateChain(certificatePem, certificatePath), privateKey);
  return { privateKey, certificatePem, keyPath: path, certificatePath, created, warnings };
}

/** The dry-run variant (`config check`): loads what exists, generates the rest in memory, writes nothing. */
async function readOnlyKey(path: string, certificatePath: string, alg: SigningAlgorithm, options: CertificateOptions): Promise<PersistedKey> {
  const pem = await readIfExists(path);
  const privateKey = pem === undefined ? await generateSigningKey(alg) : parsePrivateKeyPem(pem, alg, path);
  const warnings: string[] = [];
  if (pem !== undefined) {
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o077) !== 0) warnings.push(`${path} is accessible to other users (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  }
  const existing = pem === undefined ? undefined : await readIfExists(certificatePath);
  const certificatePem = existing ?? (await createSelfSignedCertificate(privateKey, alg, options));
  if (existing !== undefined) assertCertificateMatchesKey(parseCertificateChain(existing, certificatePath), privateKey);
  return { privateKey, certificatePem, keyPath: path, certificatePath, created: pem === undefined, warnings };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
