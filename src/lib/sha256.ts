import * as crypto from 'node:crypto';

type OneShot = (algorithm: string, data: string, outputEncoding: 'base64url') => string;
// crypto.hash (Node ≥ 20.12) hashes in one call without a Hash object: it is on every token request.
const oneShot = (crypto as { hash?: OneShot }).hash;

/** base64url SHA-256 of a string's UTF-8 bytes. */
export const sha256Base64url: (value: string) => string =
  oneShot !== undefined ? (value) => oneShot('sha256', value, 'base64url') : (value) => crypto.createHash('sha256').update(value).digest('base64url');
