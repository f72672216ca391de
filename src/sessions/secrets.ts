import { randomBytes } from 'node:crypto';
import { sha256 } from './hash.js';

/**
 * Opaque bearer secrets (refresh tokens, one-time codes): 256 random bits behind
 * a short prefix that tells a reader what leaked. Only their SHA-256 is stored.
 */
export const REFRESH_TOKEN_PREFIX = 'pcr_';
export const ONE_TIME_CODE_PREFIX = 'pco_';

const SECRET_BYTES = 32;
// base64url of 32 bytes, unpadded: 43 characters.
const BODY = /^[A-Za-z0-9_-]{43}$/;

export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

/** Shape check before any store lookup, so junk costs no round trip. */
export function isWellFormedSecret(prefix: string, value: string): boolean {
  return value.length === prefix.length + 43 && value.startsWith(prefix) && BODY.test(value.slice(prefix.length));
}

/** The store key part for a secret. SHA-256 suffices: the input has 256 bits of entropy. */
export function secretHash(value: string): string {
  return sha256(value);
}

/** A random identifier that is not a secret (session ids). */
export function newId(): string {
  return randomBytes(12).toString('base64url');
}
