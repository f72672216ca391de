import type { KeyObject } from 'node:crypto';
import { exportJWK } from 'jose';
import { KeyError } from './errors.js';
import { toPublicKey } from './material.js';
import type { PublicJwk, SigningAlgorithm } from './types.js';

/**
 * The public JWK of a key with its kid, exported by jose from the public half. Members are
 * then copied one by one, so private members (d, p, q, …) can never leak into a published JWKS.
 */
export async function publicJwk(key: KeyObject, meta: { kid: string; alg: SigningAlgorithm; x5c?: readonly string[] }): Promise<PublicJwk> {
  const jwk = await exportJWK(toPublicKey(key));
  const x5c = meta.x5c && meta.x5c.length > 0 ? { x5c: [...meta.x5c] } : {};
  if (jwk.kty === 'EC' && jwk.crv && jwk.x && jwk.y) {
    return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y, kid: meta.kid, alg: meta.alg, use: 'sig', ...x5c };
  }
  if (jwk.kty === 'RSA' && jwk.n && jwk.e) {
    return { kty: 'RSA', n: jwk.n, e: jwk.e, kid: meta.kid, alg: meta.alg, use: 'sig', ...x5c };
  }
  throw new KeyError('invalid_key', `cannot publish a key of type ${String(jwk.kty)}`);
}
