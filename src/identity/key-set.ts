/**
 * A JWKS imported once into node:crypto KeyObjects, indexed by kid.
 * Keys that cannot be used for signature verification are skipped, not fatal: issuers publish
 * encryption keys and new key types alongside the ones we need.
 *
 * Which JWKs are usable follows jose's rules for a JWKS (use, key_ops, ext, alg, kty and curve);
 * the import itself is jose's importJWK. The imported key is then held as a node:crypto
 * KeyObject because the signature check on the hot path is node:crypto's (see algorithms.ts).
 */
import { KeyObject } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import type { VerificationKey } from './algorithms.js';
import { SUPPORTED_ALGORITHMS } from './issuer-registry.js';

/** At most this many keys are imported from one JWKS. */
export const MAX_KEYS_PER_SET = 100;
const MIN_RSA_BITS = 2048;

export interface KeySet {
  /** Keys by kid; a kid may name several keys of different types. */
  readonly byKid: ReadonlyMap<string, readonly VerificationKey[]>;
  /** Keys published without a kid. */
  readonly withoutKid: readonly VerificationKey[];
  /** Every key, for tokens without kid. */
  readonly all: readonly VerificationKey[];
  readonly size: number;
}

export interface SkippedKey {
  readonly kid: string | undefined;
  readonly reason: string;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'priv'];
/** The algorithm a JWK without `alg` is imported for; the KeyObject serves every algorithm of its type. */
const IMPORT_ALG_BY_CURVE: Readonly<Record<string, string>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'EdDSA' };
/** node:crypto's names for what the JWK says, checked after import so that the two can never disagree. */
const NODE_CURVE: Readonly<Record<string, string>> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

/**
 * Why a JWK can never be selected to verify a signature, or undefined when it can. These are
 * jose's rules for picking a key out of a JWKS (use, key_ops, ext, alg, kty, crv), so the two
 * select the same keys. Synchronous and cheap.
 */
export function screenJwk(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const kty = jwk.kty;
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') return `unsupported kty ${String(kty)}`;
  if (jwk.use !== undefined && jwk.use !== 'sig') return `use is ${String(jwk.use)}`;
  const keyOps = jwk.key_ops;
  if (keyOps !== undefined) {
    if (!Array.isArray(keyOps) || keyOps.some((op) => typeof op !== 'string') || new Set(keyOps).size !== keyOps.length) {
      return 'key_ops is not a list of distinct strings';
    }
    if (!keyOps.includes('verify')) return 'key_ops does not include verify';
  }
  if (jwk.ext !== undefined && typeof jwk.ext !== 'boolean') return 'ext is not a boolean';
  if (jwk.alg !== undefined) {
    if (typeof jwk.alg !== 'string') return 'alg is not a string';
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(jwk.alg)) return `alg ${jwk.alg} is not a signature algorithm we accept`;
  }
  if (kty !== 'RSA' && (typeof jwk.crv !== 'string' || !Object.hasOwn(IMPORT_ALG_BY_CURVE, jwk.crv))) {
    return `unsupported curve ${String(jwk.crv)}`;
  }
  return undefined;
}

/** Import a selectable JWK: a key that verifies, or one that is selectable but refuses every token (with why). */
async function importOne(jwk: Readonly<Record<string, unknown>>): Promise<VerificationKey> {
  const kty = jwk.kty as string;
  const crv = typeof jwk.crv === 'string' ? jwk.crv : undefined;
  const selectable = { kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, kty, crv, alg: jwk.alg as string | undefined };
  const unusable = (reason: string): VerificationKey => ({ ...selectable, key: undefined, unusable: reason });
  // A published private key is a broken issuer, not a key to trust.
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return unusable('contains private key material');
  const alg = typeof jwk.alg === 'string' ? jwk.alg : kty === 'RSA' ? 'RS256' : (IMPORT_ALG_BY_CURVE[crv as string] as string);
  let key: KeyObject;
  try {
    const imported = await importJWK({ ...jwk } as JWK, alg);
    if (imported instanceof Uint8Array) return unusable('not a public key');
    key = KeyObject.from(imported);
  } catch {
    return unusable('not an importable public key');
  }
  const type = key.asymmetricKeyType;
  const matches =
    key.type === 'public' &&
    (kty === 'RSA' ? type === 'rsa' : kty === 'EC' ? type === 'ec' && key.asymmetricKeyDetails?.namedCurve === NODE_CURVE[crv as string] : type === 'ed25519');
  if (!matches) return unusable('the imported key does not match its JWK kty and crv');
  if (type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    return unusable(`RSA key shorter than ${MIN_RSA_BITS} bits`);
  }
  return { ...selectable, key };
}

/** The JWK entries of a JWKS document; throws when it is not one. */
export function jwksEntries(document: unknown): readonly unknown[] {
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { keys?: unknown }).keys)) {
    throw new Error('JWKS is not an object with a keys array');
  }
  return (document as { keys: unknown[] }).keys;
}

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Import every selectable key; `skipped` says why the others were left out, and why selectable
 * keys that cannot verify anything are kept (they count when a token's kid is ambiguous).
 * `usable` counts the keys that can verify.
 */
export async function importKeySet(document: unknown): Promise<{ keys: KeySet; skipped: SkippedKey[]; usable: number }> {
  const byKid = new Map<string, VerificationKey[]>();
  const withoutKid: VerificationKey[] = [];
  const all: VerificationKey[] = [];
  const skipped: SkippedKey[] = [];
  let size = 0;
  let usable = 0;
  for (const entry of jwksEntries(document)) {
    if (!isJsonObject(entry)) {
      skipped.push({ kid: undefined, reason: 'not a JSON object' });
      continue;
    }
    const kid = typeof entry.kid === 'string' ? entry.kid : undefined;
    if (size >= MAX_KEYS_PER_SET) {
      skipped.push({ kid, reason: `more than ${MAX_KEYS_PER_SET} keys` });
      continue;
    }
    const screened = screenJwk(entry);
    if (screened !== undefined) {
      skipped.push({ kid, reason: screened });
      continue;
    }
    const imported = await importOne(entry);
    if (imported.unusable !== undefined) skipped.push({ kid, reason: `${imported.unusable} (kept: it still counts when selecting by kid)` });
    else usable += 1;
    size += 1;
    all.push(imported);
    if (imported.kid === undefined) withoutKid.push(imported);
    else byKid.set(imported.kid, [...(byKid.get(imported.kid) ?? []), imported]);
  }
  return { keys: { byKid, withoutKid, all, size }, skipped, usable };
}

/** How many entries of a JWKS pass {@link screenJwk}: a synchronous check that a static set can work at all. */
export function countScreenedKeys(document: unknown): number {
  return jwksEntries(document).filter((entry) => isJsonObject(entry) && screenJwk(entry) === undefined).length;
}

/**
 * Keys a token may select: those with its kid, or every key for a token without kid (jose's
 * rule; the verifier then insists that exactly one fits the token's alg).
 */
export function keysFor(keys: KeySet, kid: string | undefined): readonly VerificationKey[] {
  if (kid === undefined) return keys.all;
  return keys.byKid.get(kid) ?? [];
}
