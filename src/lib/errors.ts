/**
 * The one base of every error Portcullis raises on purpose. `code` is stable and
 * snake_case across domains, so tests, metrics and the HTTP status table in
 * src/http/ key on it; `message` is for people. Anything that is not a
 * PortcullisError is a bug and answers 500.
 */
export abstract class PortcullisError<Code extends string = string> extends Error {
  abstract override readonly name: string;
  /** Facts safe to show the caller (never a credential); internal detail belongs in logs. */
  readonly detail?: Readonly<Record<string, unknown>>;

  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown; detail?: Readonly<Record<string, unknown>> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.detail !== undefined) this.detail = options.detail;
  }
}

export const isPortcullisError = (err: unknown): err is PortcullisError => err instanceof PortcullisError;
