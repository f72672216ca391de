import { randomBytes, randomFillSync } from 'node:crypto';

// Every token carries a jti and every request a decision id: drawing them from
// one pooled CSPRNG buffer costs a fraction of a randomBytes() call each.
// Each pooled byte is handed out once. Not for long-lived secrets.
const POOL = Buffer.allocUnsafe(8192);
let offset = POOL.length;

/** `bytes` random bytes from a CSPRNG, base64url. */
export function randomId(bytes: number): string {
  if (bytes > 64) return randomBytes(bytes).toString('base64url');
  if (offset + bytes > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const id = POOL.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return id;
}
