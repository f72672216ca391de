import { createHash } from 'node:crypto';

/** base64url SHA-256: how secrets and identities become store keys (the store never holds a secret in clear). */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
