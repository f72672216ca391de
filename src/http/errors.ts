import type { Context, Next } from 'koa';
import { PortcullisError } from '../lib/index.js';
import { IssuanceError, type IssuanceErrorCode } from '../issuance/index.js';
import type { Logger } from '../observability/logger.js';
import { ScopeError, registryErrorBody, type RegistryErrorCode } from '../registry/index.js';
import { SessionError, type SessionErrorCode } from '../sessions/index.js';

/** Refusals the HTTP layer itself raises while reading a request. */
export type HttpErrorCode = 'invalid_request' | 'not_found' | 'unsupported_grant' | 'unsupported_media_type' | 'payload_too_large' | 'unauthorized';

export class HttpError extends PortcullisError<HttpErrorCode> {
  override readonly name = 'HttpError';
}

/** Every code that can reach a response. */
type AnsweredCode = HttpErrorCode | IssuanceErrorCode | SessionErrorCode | 'invalid_scope';

export interface Answer {
  readonly status: number;
  readonly wire: RegistryErrorCode;
  /** Seconds for Retry-After (429 and 503). */
  readonly retryAfter?: number;
}

const UNAUTHORIZED: Answer = { status: 401, wire: 'UNAUTHORIZED' };
const BAD_REQUEST: Answer = { status: 400, wire: 'INVALID_REQUEST' };

/**
 * The one place where domain error codes become HTTP statuses and registry wire
 * codes. A Record over the union makes a new code a compile error until it is
 * given a status here.
 */
const ANSWERS: Readonly<Record<AnsweredCode, Answer>> = {
  invalid_request: BAD_REQUEST,
  invalid_scope: { status: 400, wire: 'INVALID_SCOPE' },
  unknown_service: { status: 400, wire: 'UNKNOWN_SERVICE' },
  unsupported_grant: { status: 400, wire: 'UNSUPPORTED' },
  too_large: BAD_REQUEST,
  not_found: { status: 404, wire: 'INVALID_REQUEST' },
  payload_too_large: { status: 413, wire: 'PAYLOAD_TOO_LARGE' },
  unsupported_media_type: { status: 415, wire: 'INVALID_REQUEST' },
  unauthorized: UNAUTHORIZED,
  bad_credentials: UNAUTHORIZED,
  issuer_untrusted: UNAUTHORIZED,
  replayed: UNAUTHORIZED,
  invalid_grant: UNAUTHORIZED,
  wrong_service: UNAUTHORIZED,
  reused: UNAUTHORIZED,
  rate_limited: { status: 429, wire: 'TOO_MANY_REQUESTS', retryAfter: 1 },
  unavailable: { status: 503, wire: 'UNAVAILABLE', retryAfter: 2 },
  verification_unavailable: { status: 503, wire: 'UNAVAILABLE', retryAfter: 5 },
};

/** How an error is answered; undefined for anything that is not a known refusal (a bug: 500). */
export function answerFor(err: unknown): Answer | undefined {
  // Only the domains whose errors are meant for callers; a store or identity error
  // reaching this point was not translated by its layer, which is a bug.
  if (!(err instanceof HttpError || err instanceof IssuanceError || err instanceof SessionError || err instanceof ScopeError)) return undefined;
  const answer = (ANSWERS as Readonly<Record<string, Answer>>)[err.code];
  if (answer === undefined) return undefined;
  return err instanceof SessionError && err.retryAfterSec !== undefined ? { ...answer, retryAfter: err.retryAfterSec } : answer;
}

/** The headers a refusal's status needs, as name, value, name, value… (a 401's challenge, Retry-After). */
export function refusalHeaders(answer: Answer): string[] {
  const headers: string[] = [];
  if (answer.status === 401) headers.push('WWW-Authenticate', 'Basic realm="portcullis", charset="UTF-8"');
  if (answer.retryAfter !== undefined) headers.push('Retry-After', String(answer.retryAfter));
  return headers;
}

/** Writes a refusal in the registry error format, with the headers its status needs. */
export function respondWithError(ctx: Context, err: PortcullisError, answer: Answer): void {
  ctx.status = answer.status;
  ctx.body = registryErrorBody(answer.wire, err.message, err.detail);
  const headers = refusalHeaders(answer);
  for (let i = 0; i < headers.length; i += 2) ctx.set(headers[i] as string, headers[i + 1] as string);
}

/** The body of every 500: it says nothing about internals (the log has the details). */
export const INTERNAL = registryErrorBody('UNKNOWN', 'internal error');

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
        answerError(ctx, err, logger);
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

function answerError(ctx: Context, err: unknown, logger: Logger): void {
  const answer = answerFor(err);
  if (answer !== undefined) {
    respondWithError(ctx, err as PortcullisError, answer);
    return;
  }
  // Koa's and the router's own errors (405, 501, body parsing) carry a status.
  const status = httpStatusOf(err);
  if (status !== undefined && status >= 400 && status < 500) {
    ctx.status = status;
    ctx.body = registryErrorBody('INVALID_REQUEST', err instanceof Error ? err.message : 'invalid request');
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

export const badRequest = (message: string): HttpError => new HttpError('invalid_request', message);
