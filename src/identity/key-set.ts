/**
 * A JWKS imported once into node:crypto KeyObjects, indexed by kid.
 * Keys that cannot be used for signature verification are skipped, not fatal: issuers publish
 * encryption keys and new key types alongside the ones we need.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { VerificationKey } from './algorithms.js';

/** At most this many keys are imported from one JWKS. */
export const MAX_KEYS_PER_SET = 100;
const MIN_RSA_BITS = 2048;

export interface KeySet {
  /** Keys by kid; a kid may name several keys of different types. */
  readonly byKid: ReadonlyMap<string, readonly VerificationKey[]>;
  /** Keys published without a kid. */
  readonly withoutKid: readonly VerificationKey[];
  readonly size: number;
}

export interface SkippedKey {
  readonly kid: string | undefined;
  readonly reason: string;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

function importOne(jwk: Readonly<Record<string, unknown>>): VerificationKey | string {
  const kty = jwk.kty;
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') return `unsupported kty ${String(kty)}`;
  if (jwk.use !== undefined && jwk.use !== 'sig') return `use is ${String(jwk.use)}`;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    return 'key_ops does not include verify';
  }
  // A published private key is a broken issuer, not a key to trust.
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return 'contains private key material';
  if (jwk.alg !== undefined && typeof jwk.alg !== 'string') return 'alg is not a string';
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return 'not an importable public key';
  }
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    return `RSA key shorter than ${MIN_RSA_BITS} bits`;
  }
  return { kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, key, alg: jwk.alg };
}

/** Import every usable key; `skipped` says why the others were left out. */
export function importKeySet(document: unknown): { keys: KeySet; skipped: SkippedKey[] } {
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { keys?: unknown }).keys)) {
    throw new Error('JWKS is not an object with a keys array');
  }
  const entries = (document as { keys: unknown[] }).keys;
  const byKid = new Map<string, VerificationKey[]>();
  const withoutKid: VerificationKey[] = [];
  const skipped: SkippedKey[] = [];
  let size = 0;
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      skipped.push({ kid: undefined, reason: 'not a JSON object' });
      continue;
    }
    const jwk = entry as Record<string, unknown>;
    const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
    if (size >= MAX_KEYS_PER_SET) {
      skipped.push({ kid, reason: `more than ${MAX_KEYS_PER_SET} keys` });
      continue;
    }
    const imported = importOne(jwk);
    if (typeof imported === 'string') {
      skipped.push({ kid, reason: imported });
      continue;
    }
    size += 1;
    if (imported.kid === undefined) withoutKid.push(imported);
    else byKid.set(imported.kid, [...(byKid.get(imported.kid) ?? []), imported]);
  }
  return { keys: { byKid, withoutKid, size }, skipped };
}

/**
 * Keys a token may name: those with its kid; for a token without kid, the kid-less keys (or,
 * when there are none, all keys; the verifier then insists on exactly one fitting its alg).
 */
export function keysFor(keys: KeySet, kid: string | undefined): readonly VerificationKey[] {
  if (kid === undefined) return keys.withoutKid.length > 0 ? keys.withoutKid : [...keys.byKid.values()].flat();
  return keys.byKid.get(kid) ?? [];
}
