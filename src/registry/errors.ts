/**
 * The registry's JSON error format ({"errors":[{code,message,detail}]}), which both
 * docker and containers/image parse from token-endpoint responses. These wire codes
 * are protocol output; which domain error becomes which code and HTTP status is
 * decided in one table in src/http/.
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
  | 'PAYLOAD_TOO_LARGE'
  | 'UNKNOWN';

export interface RegistryErrorBody {
  errors: { code: RegistryErrorCode; message: string; detail?: unknown }[];
}

export function registryErrorBody(code: RegistryErrorCode, message: string, detail?: unknown): RegistryErrorBody {
  return { errors: [detail === undefined ? { code, message } : { code, message, detail }] };
}
