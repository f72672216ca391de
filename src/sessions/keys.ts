import { sha256 } from './hash.js';

// Issuers are few (configured ones, or what a wildcard lets through) and hashed on every
// single-use check: their hashes are remembered in a bounded map, emptied when full.
const issuerHashes = new Map<string, string>();
const MAX_ISSUER_HASHES = 1024;
function issuerHash(issuer: string): string {
  let hash = issuerHashes.get(issuer);
  if (hash === undefined) {
    if (issuerHashes.size >= MAX_ISSUER_HASHES) issuerHashes.clear();
    hash = sha256(issuer);
    issuerHashes.set(issuer, hash);
  }
  return hash;
}

/**
 * Store keys used by sessions/. Issuers and subjects are hashed: they can be long
 * and contain anything, keys are bounded and must not be ambiguous.
 */
export const sessionKeys = {
  refresh: (tokenHash: string): string => `rt:${tokenHash}`,
  /** Marks a refresh token rotated away, for reuse detection. */
  rotated: (tokenHash: string): string => `rtu:${tokenHash}`,
  /** Written before a session's tokens are deleted; no new token of the session is written while it exists. */
  revoked: (sessionId: string): string => `rv:${sessionId}`,
  idToken: (issuer: string, jti: string | undefined, tokenHash: string): string =>
    `idt:${issuerHash(issuer)}:${jti !== undefined ? `j:${sha256(jti)}` : `h:${tokenHash}`}`,
  oneTimeCode: (purpose: string, codeHash: string): string => `otc:${purpose}:${codeHash}`,
  /** When a session last refreshed (ms since the epoch), for the person's sessions page. */
  lastUsed: (sessionId: string): string => `rlu:${sessionId}`,
};

export const sessionIndexes = {
  all: 's:all',
  id: (id: string): string => `s:id:${id}`,
  subject: (subject: string): string => `s:sub:${sha256(subject)}`,
  issuer: (issuer: string): string => `s:iss:${sha256(issuer)}`,
  rule: (rule: string): string => `s:rule:${rule}`,
  /** One identity (issuer + subject), for the per-identity session cap. */
  identity: (issuer: string, subject: string): string => `s:ident:${sha256(`${issuer}\n${subject}`)}`,
};

export const rateLimitKeys = {
  identity: (issuer: string, subject: string): string => sha256(`${issuer}\n${subject}`),
  issuer: (issuer: string): string => sha256(issuer),
};
