import type { Context, Next } from 'koa';
import { RegistryError } from '../registry/index.js';
import type { Logger } from '../observability/logger.js';

/**
 * Every failure leaves as a registry-format JSON error. Unknown errors are a
 * 500 whose body says nothing about internals; the log has the details.
 */
export function errorMiddleware(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } catch (err) {
      if (err instanceof RegistryError) {
        ctx.status = err.status;
        ctx.body = err.toBody();
        if (err.status === 401) ctx.set('WWW-Authenticate', 'Basic realm="portcullis", charset="UTF-8"');
        if (err.retryAfter !== undefined) ctx.set('Retry-After', String(err.retryAfter));
        return;
      }
      const status = httpStatusOf(err);
      if (status !== undefined && status < 500) {
        ctx.status = status;
        ctx.body = new RegistryError(status, 'INVALID_REQUEST', (err as Error).message).toBody();
        return;
      }
      logger.error({ err, path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.body = { errors: [{ code: 'UNKNOWN', message: 'internal error' }] };
    }
  };
}

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null) {
    const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
    if (typeof s === 'number') return s;
  }
  return undefined;
}
