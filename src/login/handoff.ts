import { createHash, timingSafeEqual } from 'node:crypto';
import { LoginError } from './errors.js';

/**
 * The loopback hand-off of native apps (RFC 8252 §7.3) with PKCE (RFC 7636).
 * Only http://127.0.0.1:<port>/… and http://[::1]:<port>/… are redirect targets:
 * anything else could send the code to another host (an open redirect).
 */
export function checkLoopbackRedirect(raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new LoginError('invalid_request', '"redirect_uri" is required');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LoginError('invalid_request', '"redirect_uri" is not a URL');
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'http:' || !loopback || url.port === '' || url.username !== '' || url.password !== '' || url.hash !== '' || url.search !== '') {
    throw new LoginError(
      'invalid_request',
      '"redirect_uri" must be http://127.0.0.1:<port>/<path> or http://[::1]:<port>/<path> (a loopback address of this computer, with a port and no query)',
    );
  }
  // Compare later against exactly what was checked here.
  return url.href;
}

const STATE_RE = /^[\x21-\x7e]{16,512}$/;
const CHALLENGE_RE = /^[A-Za-z0-9_-]{43}$/;
const VERIFIER_RE = /^[A-Za-z0-9._~-]{43,128}$/;

export function checkClientState(state: string | undefined): string {
  if (state === undefined || !STATE_RE.test(state)) {
    throw new LoginError('invalid_request', '"state" is required: 16 to 512 printable ASCII characters (at least 128 random bits)');
  }
  return state;
}

export function checkCodeChallenge(challenge: string | undefined, method: string | undefined): string {
  if (method !== 'S256') throw new LoginError('invalid_request', '"code_challenge_method" must be S256');
  if (challenge === undefined || !CHALLENGE_RE.test(challenge)) {
    throw new LoginError('invalid_request', '"code_challenge" must be the base64url SHA-256 of the verifier (43 characters)');
  }
  return challenge;
}

/** RFC 7636 §4.6: BASE64URL(SHA256(verifier)) equals the challenge; compared in constant time. */
export function verifierMatches(verifier: string | undefined, challenge: string): boolean {
  if (verifier === undefined || !VERIFIER_RE.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/** `<redirect_uri>?code=…&state=…` (or error=…), the only URL that ever carries a one-time code. */
export function loopbackResult(redirectUri: string, params: Record<string, string>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}
