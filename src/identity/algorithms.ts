/**
 * How each allowed JWS algorithm maps to node:crypto, and which keys may verify it.
 * Binding the key type to `alg` is what defeats algorithm-confusion attacks.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import type { SupportedAlgorithm } from './issuer-registry.js';

interface AlgorithmSpec {
  /** Digest for crypto.verify; null for EdDSA, which hashes internally. */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  readonly keyTypes: readonly string[];
  /** Required named curve for ES*. */
  readonly curve?: string;
  /** Raw r||s signature length for ES*. */
  readonly signatureLength?: number;
  readonly pss?: boolean;
}

const SPECS: Readonly<Record<SupportedAlgorithm, AlgorithmSpec>> = {
  RS256: { digest: 'sha256', keyTypes: ['rsa'] },
  RS384: { digest: 'sha384', keyTypes: ['rsa'] },
  RS512: { digest: 'sha512', keyTypes: ['rsa'] },
  PS256: { digest: 'sha256', keyTypes: ['rsa', 'rsa-pss'], pss: true },
  PS384: { digest: 'sha384', keyTypes: ['rsa', 'rsa-pss'], pss: true },
  PS512: { digest: 'sha512', keyTypes: ['rsa', 'rsa-pss'], pss: true },
  ES256: { digest: 'sha256', keyTypes: ['ec'], curve: 'prime256v1', signatureLength: 64 },
  ES384: { digest: 'sha384', keyTypes: ['ec'], curve: 'secp384r1', signatureLength: 96 },
  ES512: { digest: 'sha512', keyTypes: ['ec'], curve: 'secp521r1', signatureLength: 132 },
  // Ed25519 only, as jose and WebCrypto: Ed448 keys are skipped when a JWKS is imported.
  EdDSA: { digest: null, keyTypes: ['ed25519'] },
};

/** A verification key imported once from a JWK. */
export interface VerificationKey {
  readonly kid: string | undefined;
  readonly key: KeyObject;
  /** The JWK's own `alg`, when it pins one. */
  readonly alg: string | undefined;
}

function specFor(alg: string): AlgorithmSpec | undefined {
  return Object.hasOwn(SPECS, alg) ? SPECS[alg as SupportedAlgorithm] : undefined;
}

/** A human-readable key type for error messages, e.g. "RSA", "EC P-256". */
export function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  if (type === 'ec') return `EC ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim();
  return type.toUpperCase();
}

/** Whether `key` may verify a signature made with `alg` (key type, curve and pinned alg all fit). */
export function keyFitsAlgorithm(key: VerificationKey, alg: string): boolean {
  const spec = specFor(alg);
  if (!spec) return false;
  if (key.alg !== undefined && key.alg !== alg) return false;
  const type = key.key.asymmetricKeyType;
  if (type === undefined || !spec.keyTypes.includes(type)) return false;
  if (spec.curve !== undefined && key.key.asymmetricKeyDetails?.namedCurve !== spec.curve) return false;
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
