/**
 * Errors in the registry's JSON error format ({"errors":[{code,message,detail}]}),
 * which both docker and containers/image parse from token-endpoint responses.
 */
export type RegistryErrorCode =
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'INVALID_REQUEST'
  | 'INVALID_SCOPE'
  | 'UNKNOWN_SERVICE'
  | 'TOO_MANY_REQUESTS'
  | 'UNAVAILABLE'
  | 'PAYLOAD_TOO_LARGE';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly status: number,
    readonly code: RegistryErrorCode,
    message: string,
    readonly detail?: unknown,
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  toBody(): { errors: { code: string; message: string; detail?: unknown }[] } {
    const entry: { code: string; message: string; detail?: unknown } = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}

export const unauthorized = (message: string, detail?: unknown): RegistryError =>
  new RegistryError(401, 'UNAUTHORIZED', message, detail);

export const badRequest = (message: string, detail?: unknown): RegistryError =>
  new RegistryError(400, 'INVALID_REQUEST', message, detail);
