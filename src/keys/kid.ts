import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { base32Encode, base64url, leftPad, stripLeadingZeros } from './encoding.js';
import { KeyError } from './errors.js';
import { spkiDer, toPublicKey } from './material.js';

/**
 * libtrust key ID (spec §5): SHA-256 over the SPKI DER, first 30 bytes, base32,
 * 12 groups of 4 joined by ':'. Distribution 2.x looks keys up by exactly this string.
 * Hand-written: the format is libtrust's own and no maintained library computes it.
 */
export function libtrustKeyId(key: KeyObject): string {
  const digest = createHash('sha256').update(spkiDer(key)).digest().subarray(0, 30);
  const encoded = base32Encode(digest);
  return (encoded.match(/.{4}/g) ?? []).join(':');
}

/** The standard RFC 7638 SHA-256 thumbprint, computed by jose. */
export async function jwkThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(toPublicKey(key)), 'sha256');
}

/**
 * The kid distribution ≥3.1 derives from a rootcertbundle key. It follows RFC 7638
 * except that EC x/y come from Go's big.Int.Bytes(), which drops leading zero bytes;
 * for ~1 in 128 P-256 keys this differs from {@link jwkThumbprint}, and a
 * token carrying the standard thumbprint would then be "signed by untrusted key".
 */
export function distributionThumbprint(key: KeyObject): string {
  return goThumbprint(key);
}

const COORDINATE_BYTES: Record<string, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/**
 * Hand-written on purpose: jose (rightly) keeps EC coordinates at their full RFC 7518 length,
 * and what must be reproduced here is Go's variant, byte for byte.
 */
function goThumbprint(key: KeyObject): string {
  const jwk = toPublicKey(key).export({ format: 'jwk' });
  let canonical: string;
  if (jwk.kty === 'EC' && jwk.crv && jwk.x && jwk.y) {
    const size = COORDINATE_BYTES[jwk.crv];
    if (size === undefined) throw new KeyError('invalid_key', `unsupported EC curve ${jwk.crv}`);
    const encode = (coordinate: string): string => {
      const full = leftPad(Buffer.from(coordinate, 'base64url'), size);
      return base64url(stripLeadingZeros(full));
    };
    // Members in lexicographic order, no whitespace (RFC 7638 §3.2).
    canonical = `{"crv":${JSON.stringify(jwk.crv)},"kty":"EC","x":"${encode(jwk.x)}","y":"${encode(jwk.y)}"}`;
  } else if (jwk.kty === 'RSA' && jwk.n && jwk.e) {
    // n and e are minimal big-endian in both RFC 7518 and Go, so no variant here.
    const n = base64url(stripLeadingZeros(Buffer.from(jwk.n, 'base64url')));
    const e = base64url(stripLeadingZeros(Buffer.from(jwk.e, 'base64url')));
    canonical = `{"e":"${e}","kty":"RSA","n":"${n}"}`;
  } else {
    throw new KeyError('invalid_key', `cannot compute a thumbprint for key type ${String(jwk.kty)}`);
  }
  return createHash('sha256').update(canonical).digest('base64url');
}
