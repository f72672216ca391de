import { constants, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { base64url } from './encoding.js';
import { KeyError } from './errors.js';
import { assertKeyMatchesAlg } from './material.js';
import type { SigningAlgorithm, TokenSigner } from './types.js';

export interface SignerOptions {
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  kid: string;
  /** Certificate chain for the `x5c` header, standard base64 DER, leaf first. */
  x5c?: readonly string[];
}

/**
 * A JWS signer whose header is encoded once; each `sign` is one JSON.stringify and one
 * node:crypto sign on a ready KeyObject (no key import, no WebCrypto on this hot path).
 */
export function createTokenSigner(options: SignerOptions): TokenSigner {
  const { alg, privateKey, kid } = options;
  assertKeyMatchesAlg(privateKey, alg);
  if (privateKey.type !== 'private') throw new KeyError('invalid_key', 'a signer needs a private key');
  if (kid.length === 0) throw new KeyError('invalid_keyring', 'a signer needs a non-empty kid');
  const header: Record<string, unknown> = { typ: 'JWT', alg, kid };
  if (options.x5c && options.x5c.length > 0) header.x5c = [...options.x5c];
  const encodedHeader = base64url(JSON.stringify(header));
  // ES256: raw r||s (64 bytes); Node's default DER encoding is rejected by registries.
  const signOptions =
    alg === 'ES256'
      ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
      : { key: privateKey, padding: constants.RSA_PKCS1_PADDING };
  return {
    alg,
    kid,
    sign(claims: object): string {
      const signingInput = `${encodedHeader}.${base64url(JSON.stringify(claims))}`;
      const signature = sign('sha256', Buffer.from(signingInput), signOptions);
      return `${signingInput}.${signature.toString('base64url')}`;
    },
  };
}
