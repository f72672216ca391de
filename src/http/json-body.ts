import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { HttpError, badRequest } from './errors.js';

/** Reads a JSON object body of at most `maxBytes`; anything else is a 4xx naming what was wrong. */
export async function readJsonObject(ctx: Context, maxBytes: number): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new HttpError('unsupported_media_type', `${ctx.method} ${ctx.path} takes an application/json body`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await getRawBody(ctx.req, { limit: maxBytes, encoding: 'utf8' }));
  } catch {
    throw badRequest(`body must be JSON of at most ${maxBytes} bytes`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('body must be a JSON object');
  return parsed as Record<string, unknown>;
}
