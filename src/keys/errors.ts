export type KeyErrorCode =
  | 'INVALID_KEY'
  | 'KEY_ALG_MISMATCH'
  | 'WEAK_KEY'
  | 'INVALID_CERTIFICATE'
  | 'CERT_KEY_MISMATCH'
  | 'FILE_EXISTS'
  | 'INVALID_KEYRING';

/** Any problem with signing keys or certificates; messages are meant for operators. */
export class KeyError extends Error {
  override readonly name = 'KeyError';
  constructor(
    readonly code: KeyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
