/**
 * Strict parsing of a compact JWS: three canonical base64url segments, a JSON-object header
 * and payload. Nothing here verifies anything; it only refuses shapes no honest issuer sends.
 */
import { isUtf8 } from 'node:buffer';
import { IdentityError } from './types.js';

export interface ParsedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly alg: string;
  readonly kid: string | undefined;
  readonly payload: Readonly<Record<string, unknown>>;
  /** ASCII bytes of `<header>.<payload>`, what the signature covers. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

/** Tokens larger than this are refused before any parsing. */
export const MAX_TOKEN_BYTES = 16 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

const malformed = (message: string): IdentityError => new IdentityError('malformed', message);
/**
 * Invalid UTF-8 is an error, not U+FFFD: two parsers must never read different claims from one
 * token. isUtf8 (simdutf) then toString decode what TextDecoder's fatal mode would, faster.
 */
function utf8(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw new Error('invalid UTF-8');
  return bytes.toString('utf8');
}

/**
 * Decode base64url, refusing padding, foreign characters (the standard alphabet's `+` and `/`
 * included), whitespace and non-canonical trailing bits: Node's decoder skips what it does not
 * understand, so the bytes must encode back to exactly the text that was sent.
 */
export function decodeBase64url(segment: string, what: string): Buffer {
  const bytes = Buffer.from(segment, 'base64url');
  if (segment.length === 0 || bytes.toString('base64url') !== segment) {
    throw malformed(BASE64URL.test(segment) && segment.length % 4 !== 1 ? `${what} is not canonical base64url` : `${what} is not base64url`);
  }
  return bytes;
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8(decodeBase64url(segment, what)));
  } catch (error) {
    if (error instanceof IdentityError) throw error;
    throw malformed(`${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

export function parseCompactJws(token: string): ParsedJws {
  if (typeof token !== 'string' || token.length === 0) throw malformed('no token');
  if (token.length > MAX_TOKEN_BYTES) throw malformed(`token is longer than ${MAX_TOKEN_BYTES} bytes`);
  const parts = token.split('.');
  if (parts.length !== 3) throw malformed('token is not a compact JWS (expected 3 dot-separated segments)');
  const [rawHeader, rawPayload, rawSignature] = parts as [string, string, string];

  const header = decodeJsonObject(rawHeader, 'JWS header');
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.length === 0) throw malformed('JWS header has no alg');
  if (alg === 'none' || alg.toUpperCase() === 'NONE') throw new IdentityError('unsupported_alg', 'unsigned tokens (alg none) are refused');
  if (/^HS/i.test(alg)) throw new IdentityError('unsupported_alg', `symmetric algorithm ${alg} is refused`);
  // RFC 7515 §4.1.11: extensions we do not understand must make the token invalid.
  if (Object.hasOwn(header, 'crit')) throw new IdentityError('unsupported_alg', 'JWS header "crit" extensions are not supported');
  const kid = header.kid;
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0)) throw malformed('JWS header kid is not a string');

  const payload = decodeJsonObject(rawPayload, 'JWT payload');
  if (rawSignature.length === 0) throw malformed('token has an empty signature');
  const signature = decodeBase64url(rawSignature, 'JWS signature');

  return {
    header,
    alg,
    kid,
    payload,
    signingInput: Buffer.from(token.slice(0, rawHeader.length + 1 + rawPayload.length), 'latin1'),
    signature,
  };
}
