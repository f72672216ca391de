import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { KeyError } from './errors.js';
import type { SigningAlgorithm } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Distribution and clients expect ≥2048-bit RSA; smaller keys are refused outright. */
export const MIN_RSA_BITS = 2048;

/** Node names P-256 `prime256v1` (OpenSSL's name). */
const P256_NAMES = new Set(['prime256v1', 'P-256', 'secp256r1']);

export async function generateSigningKey(
  alg: SigningAlgorithm = 'ES256',
  options: { modulusLength?: number } = {},
): Promise<KeyObject> {
  if (alg === 'ES256') {
    const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    return privateKey;
  }
  const modulusLength = options.modulusLength ?? MIN_RSA_BITS;
  if (modulusLength < MIN_RSA_BITS) {
    throw new KeyError('weak_key', `RSA keys must be at least ${MIN_RSA_BITS} bits (got ${modulusLength})`);
  }
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength, publicExponent: 0x10001 });
  return privateKey;
}

/** The public half of a key; public keys pass through unchanged. */
export function toPublicKey(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

/** The algorithm a key can sign with, or an error for key types we do not sign with. */
export function inferAlgorithm(key: KeyObject, origin = 'key'): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ec' && P256_NAMES.has(key.asymmetricKeyDetails?.namedCurve ?? '')) return 'ES256';
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  throw new KeyError('invalid_key', `${origin}: unsupported key type ${describeKey(key)}; use an EC P-256 or RSA key`);
}

/**
 * Fails unless `key` can produce `alg` signatures a registry accepts:
 * ES256 needs exactly P-256, RS256 needs plain RSA (not RSA-PSS) of at least 2048 bits.
 */
export function assertKeyMatchesAlg(key: KeyObject, alg: SigningAlgorithm, origin = 'key'): void {
  if (key.type === 'secret') throw new KeyError('invalid_key', `${origin}: a secret key cannot sign registry tokens`);
  if (alg === 'ES256') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    if (key.asymmetricKeyType !== 'ec' || !P256_NAMES.has(curve)) {
      throw new KeyError('key_alg_mismatch', `${origin}: ES256 needs an EC P-256 key, got ${describeKey(key)}`);
    }
    return;
  }
  if (alg === 'RS256') {
    if (key.asymmetricKeyType !== 'rsa') {
      throw new KeyError('key_alg_mismatch', `${origin}: RS256 needs an RSA key, got ${describeKey(key)}`);
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new KeyError('weak_key', `${origin}: RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    }
    return;
  }
  throw new KeyError('key_alg_mismatch', `${origin}: unsupported algorithm ${String(alg)}`);
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return `EC ${details?.namedCurve ?? 'unknown curve'}`;
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    return `${key.asymmetricKeyType.toUpperCase()} ${details?.modulusLength ?? '?'} bits`;
  }
  return key.asymmetricKeyType ?? key.type;
}

/**
 * Parses a private key PEM (PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1
 * `RSA PRIVATE KEY`) and checks it against `alg` when given.
 */
export function parsePrivateKeyPem(pem: string, alg?: SigningAlgorithm, origin = 'private key PEM'): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /^Proc-Type: 4,ENCRYPTED$/m.test(pem)) {
    throw new KeyError('invalid_key', `${origin}: encrypted private keys are not supported`);
  }
  if (!/-----BEGIN (?:EC |RSA )?PRIVATE KEY-----/.test(pem)) {
    throw new KeyError('invalid_key', `${origin}: no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block found`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new KeyError('invalid_key', `${origin}: cannot parse private key (${errorMessage(cause)})`, { cause });
  }
  assertKeyMatchesAlg(key, alg ?? inferAlgorithm(key, origin), origin);
  return key;
}

/** Loads a private key from a PEM string (recognised by its BEGIN line) or from a file path. */
export async function loadPrivateKey(pathOrPem: string, alg?: SigningAlgorithm): Promise<KeyObject> {
  if (pathOrPem.includes('-----BEGIN')) return parsePrivateKeyPem(pathOrPem, alg);
  let pem: string;
  try {
    pem = await readFile(pathOrPem, 'utf8');
  } catch (cause) {
    throw new KeyError('invalid_key', `${pathOrPem}: cannot read private key (${errorMessage(cause)})`, { cause });
  }
  return parsePrivateKeyPem(pem, alg, pathOrPem);
}

/** PKCS#8 PEM, the format we write. */
export function exportPrivateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** SubjectPublicKeyInfo DER of a (private or public) key. */
export function spkiDer(key: KeyObject): Buffer {
  return toPublicKey(key).export({ type: 'spki', format: 'der' });
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
