import type { Context, Next } from 'koa';
import { RegistryError } from '../registry/index.js';
import type { Logger } from '../observability/logger.js';

const INTERNAL = { errors: [{ code: 'UNKNOWN', message: 'internal error' }] };

/**
 * Every failure leaves as a registry-format JSON error. Unknown errors are a
 * 500 whose body says nothing about internals; the log has the details.
 * This handler itself must never throw (Koa would answer a text/plain 500): it
 * reads nothing derived from the Host header or a parsed URL, and any failure
 * while answering falls back to the fixed 500 body.
 */
export function errorMiddleware(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } catch (err) {
      try {
        answer(ctx, err, logger);
      } catch {
        try {
          ctx.status = 500;
          ctx.body = INTERNAL;
        } catch {
          // Headers already sent: nothing more can be said on this response.
        }
      }
    }
  };
}

function answer(ctx: Context, err: unknown, logger: Logger): void {
  if (err instanceof RegistryError) {
    ctx.status = err.status;
    ctx.body = err.toBody();
    if (err.status === 401) ctx.set('WWW-Authenticate', 'Basic realm="portcullis", charset="UTF-8"');
    if (err.retryAfter !== undefined) ctx.set('Retry-After', String(err.retryAfter));
    return;
  }
  const status = httpStatusOf(err);
  if (status !== undefined && status >= 400 && status < 500) {
    ctx.status = status;
    ctx.body = new RegistryError(status, 'INVALID_REQUEST', err instanceof Error ? err.message : 'invalid request').toBody();
    return;
  }
  // The raw request target, bounded: ctx.path would parse it again.
  logger.error({ err, target: String(ctx.req.url ?? '').slice(0, 200) }, 'unhandled error');
  ctx.status = 500;
  ctx.body = INTERNAL;
}

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null) {
    const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
    if (typeof s === 'number' && Number.isInteger(s)) return s;
  }
  return undefined;
}
