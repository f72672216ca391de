import { PortcullisError } from '../lib/index.js';

export type KeyErrorCode =
  | 'invalid_key'
  | 'key_alg_mismatch'
  | 'weak_key'
  | 'invalid_certificate'
  | 'cert_key_mismatch'
  | 'file_exists'
  | 'invalid_keyring';

/** Any problem with signing keys or certificates; messages are meant for operators. */
export class KeyError extends PortcullisError<KeyErrorCode> {
  override readonly name = 'KeyError';
}
