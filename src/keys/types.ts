import type { KeyObject } from 'node:crypto';

export type SigningAlgorithm = 'ES256' | 'RS256';

/** Signs registry tokens; synchronous because node:crypto signing on a KeyObject is. */
export interface TokenSigner {
  readonly alg: SigningAlgorithm;
  /** The `kid` header this signer emits (absent in pure x5c mode is not allowed: we always send one). */
  readonly kid: string;
  /** Returns a compact JWS over the JSON of `claims`. */
  sign(claims: object): string;
}

/**
 * How the `kid` header is chosen, per registry version:
 * - `libtrust`: the libtrust fingerprint; the only kid distribution 2.x looks up.
 * - `thumbprint`: the SHA-256 JWK thumbprint exactly as distribution ≥3.1 computes it
 *   from a rootcertbundle key (leading zero bytes of EC coordinates stripped).
 * - `x5c`: send the certificate in `x5c` (verified by chain on 2.x and 3.x) plus the
 *   libtrust kid, so a registry that only knows the key still finds it.
 */
export type KidMode = 'libtrust' | 'thumbprint' | 'x5c';

export const KID_MODES: readonly KidMode[] = ['libtrust', 'thumbprint', 'x5c'];
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256'];

/** One signing key as configured; a KeyRing is built from a list of these. */
export interface KeyEntry {
  /** Operator-chosen name, unique in the ring (shown by `keys show`, used in logs). */
  id: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  /** PEM of the key's certificate (leaf first, optional intermediates after it). */
  certificatePem?: string;
  /** Where `certificatePem` was read from (a file path), so errors can name it. */
  certificateSource?: string;
  kidMode: KidMode;
  /** Explicit kid, e.g. one listed in a distribution 3.x `jwks` file; overrides the mode's kid. */
  kid?: string;
  /** The single key that signs; the others are only published (rotation). */
  active?: boolean;
}

/** A public JWK as published in the JWKS; never carries private members. */
export type PublicJwk =
  | { kty: 'EC'; crv: string; x: string; y: string; kid: string; alg: SigningAlgorithm; use: 'sig'; x5c?: string[] }
  | { kty: 'RSA'; n: string; e: string; kid: string; alg: SigningAlgorithm; use: 'sig'; x5c?: string[] };

export interface Jwks {
  keys: PublicJwk[];
}
