import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { HttpError } from './errors.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * A guard for operator endpoints: `Authorization: Bearer <admin token>`.
 * Comparing SHA-256 digests keeps the compare constant-time whatever the lengths.
 */
export function bearerGuard(token: string): (ctx: Context) => void {
  const expected = digest(token);
  return (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const match = /^Bearer ([^\s]+)$/.exec(ctx.get('authorization'));
    if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), expected)) {
      throw new HttpError('unauthorized', 'admin credential required');
    }
  };
}
