import { createHash } from 'node:crypto';

/** base64url SHA-256: how secrets appear in logs, caches and the store. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
