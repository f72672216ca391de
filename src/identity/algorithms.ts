/**
 * How each allowed JWS algorithm maps to node:crypto, and which keys may verify it.
 * Binding the key type to `alg` is what defeats algorithm-confusion attacks.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import type { SupportedAlgorithm } from './issuer-registry.js';

interface AlgorithmSpec {
  /** Digest for crypto.verify; null for EdDSA, which hashes internally. */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  /** The JWK key type that may verify it. */
  readonly kty: 'RSA' | 'EC' | 'OKP';
  /** Required JWK curve for ES* and EdDSA. */
  readonly crv?: string;
  /** Raw r||s signature length for ES*. */
  readonly signatureLength?: number;
  readonly pss?: boolean;
}

// Key type and curve per algorithm as jose's JWKS selection has them (EdDSA: Ed25519 only).
const SPECS: Readonly<Record<SupportedAlgorithm, AlgorithmSpec>> = {
  RS256: { digest: 'sha256', kty: 'RSA' },
  RS384: { digest: 'sha384', kty: 'RSA' },
  RS512: { digest: 'sha512', kty: 'RSA' },
  PS256: { digest: 'sha256', kty: 'RSA', pss: true },
  PS384: { digest: 'sha384', kty: 'RSA', pss: true },
  PS512: { digest: 'sha512', kty: 'RSA', pss: true },
  ES256: { digest: 'sha256', kty: 'EC', crv: 'P-256', signatureLength: 64 },
  ES384: { digest: 'sha384', kty: 'EC', crv: 'P-384', signatureLength: 96 },
  ES512: { digest: 'sha512', kty: 'EC', crv: 'P-521', signatureLength: 132 },
  EdDSA: { digest: null, kty: 'OKP', crv: 'Ed25519' },
};

/**
 * A published JWK that a token may select, imported once. Selection uses the JWK's own
 * members (kid, kty, crv, alg); a selectable key that cannot verify anything (private
 * material, a short RSA modulus, unparsable numbers) stays in the set without `key`, so that
 * it still counts when a token's kid is ambiguous, as it does for jose.
 */
export interface VerificationKey {
  readonly kid: string | undefined;
  readonly kty: string;
  readonly crv: string | undefined;
  /** The JWK's own `alg`, when it pins one. */
  readonly alg: string | undefined;
  readonly key: KeyObject | undefined;
  /** Why `key` is absent. */
  readonly unusable?: string;
}

function specFor(alg: string): AlgorithmSpec | undefined {
  return Object.hasOwn(SPECS, alg) ? SPECS[alg as SupportedAlgorithm] : undefined;
}

/** A human-readable key type for error messages, e.g. "RSA", "EC P-256". */
export function describeKey(key: VerificationKey): string {
  return key.crv === undefined ? key.kty : `${key.kty} ${key.crv}`;
}

/** Whether `key` may be selected to verify a signature made with `alg` (key type, curve and pinned alg all fit). */
export function keyFitsAlgorithm(key: VerificationKey, alg: string): boolean {
  const spec = specFor(alg);
  if (!spec) return false;
  if (key.alg !== undefined && key.alg !== alg) return false;
  if (key.kty !== spec.kty) return false;
  if (spec.crv !== undefined && key.crv !== spec.crv) return false;
  return true;
}

/** Verify a JWS signature; the caller must already have checked keyFitsAlgorithm. */
export function verifySignature(alg: string, key: KeyObject, signingInput: Buffer, signature: Buffer): boolean {
  const spec = specFor(alg);
  if (!spec) return false;
  if (spec.signatureLength !== undefined) {
    if (signature.length !== spec.signatureLength) return false;
    return verify(spec.digest, signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
  }
  if (spec.pss) {
    return verify(
      spec.digest,
      signingInput,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      signature,
    );
  }
  return verify(spec.digest, signingInput, key, signature);
}
