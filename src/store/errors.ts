import { PortcullisError } from '../lib/index.js';

/**
 * Store failures with stable codes. Callers fail closed on every one of them;
 * the codes let HTTP answer 503 (unavailable) versus 500 (a bug) and let metrics count them.
 */
export type StoreErrorCode =
  /** The backend cannot be reached or did not answer in time. Retryable. */
  | 'unavailable'
  /** The memory store reached its entry bound. */
  | 'full'
  /** A caller passed a bad key, value or TTL: a programming error. */
  | 'invalid_argument'
  /** The store configuration is unusable. */
  | 'invalid_config'
  /** The backend answered with an error that is not about availability. */
  | 'command_failed';

export class StoreError extends PortcullisError<StoreErrorCode> {
  override readonly name: string = 'StoreError';
}

/** The backend is down, unreachable or too slow; the operation did not (observably) happen. */
export class StoreUnavailableError extends StoreError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
  }
}

/** The memory store refuses to grow past its configured bound. */
export class StoreFullError extends StoreError {
  override readonly name = 'StoreFullError';
  constructor(readonly maxEntries: number) {
    super('full', `memory store is full (${maxEntries} entries); refusing new entries`);
  }
}
