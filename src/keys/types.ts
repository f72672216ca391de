export type SigningAlgorithm = 'ES256' | 'RS256';

/** Signs registry tokens; synchronous because node:crypto signing on a KeyObject is. */
export interface TokenSigner {
  readonly alg: SigningAlgorithm;
  /** The `kid` header this signer emits (absent in pure x5c mode is not allowed: we always send one). */
  readonly kid: string;
  /** Returns a compact JWS over the JSON of `claims`. */
  sign(claims: object): string;
}
