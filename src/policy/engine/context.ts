import type { Identity } from '../../identity/types.js';

/** What a rule's conditions look at while one request is evaluated. */
export interface EvalContext {
  readonly identity: Identity | null;
  /** The identity's claims; undefined for anonymous requests. */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  readonly service: string;
  readonly clientIp: string | undefined;
}

/** A compiled test with a human-readable label for traces. */
export interface Check {
  readonly label: string;
  test(ctx: EvalContext): boolean;
}
