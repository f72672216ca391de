/**
 * ID token verification on node:crypto: size cap → strict JWS parse → issuer lookup (no network
 * for untrusted issuers) → alg allowlist → key by kid (type bound to alg) → signature → claims.
 */
import { createHash } from 'node:crypto';
import { describeKey, keyFitsAlgorithm, verifySignature, type VerificationKey } from './algorithms.js';
import { checkClaims, quote } from './claims.js';
import type { IssuerRegistry } from './issuer-registry.js';
import type { KeyStore, WarmResult } from './jwks-cache.js';
import { MAX_TOKEN_BYTES, parseCompactJws } from './jws.js';
import { IdentityError, type Identity, type IdentityVerifier } from './types.js';
import type { VerificationCache } from './verification-cache.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

export class OidcVerifier implements IdentityVerifier {
  constructor(
    private readonly issuers: IssuerRegistry,
    private readonly keys: KeyStore,
    private readonly cache: VerificationCache | undefined,
    /** Milliseconds since the epoch. */
    private readonly now: () => number = Date.now,
  ) {}

  /** Prefetch keys of every exact issuer; the caller logs failures. */
  warm(): Promise<WarmResult[]> {
    return this.keys.warm(this.issuers.entries);
  }

  async verify(token: string, precomputedHash?: string): Promise<Identity> {
    if (typeof token !== 'string' || token.length === 0) throw new IdentityError('malformed', 'no token');
    if (token.length > MAX_TOKEN_BYTES) throw new IdentityError('malformed', `token is longer than ${MAX_TOKEN_BYTES} bytes`);
    const tokenHash = precomputedHash ?? hashToken(token);
    const cached = this.cache?.get(tokenHash, this.now() / 1000);
    if (cached) return cached;

    const jws = parseCompactJws(token);
    const iss = jws.payload.iss;
    if (typeof iss !== 'string' || iss.length === 0) throw new IdentityError('missing_claim', 'token has no iss claim');
    const entry = this.issuers.match(iss);
    if (entry === undefined) throw new IdentityError('untrusted_issuer', `issuer ${quote(iss)} is not configured`);
    if (!entry.algorithms.has(jws.alg)) {
      throw new IdentityError(
        'unsupported_alg',
        `algorithm ${quote(jws.alg)} is not accepted for issuer ${JSON.stringify(entry.id)} (accepted: ${[...entry.algorithms].join(', ')})`,
      );
    }

    const candidates = await this.keys.sourceFor(entry, iss).keysFor(jws.kid);
    const fitting = candidates.filter((key) => keyFitsAlgorithm(key, jws.alg));
    if (fitting.length === 0) {
      const described = candidates.map((key: VerificationKey) => describeKey(key.key)).join(', ');
      throw new IdentityError('bad_signature', `key ${quote(jws.kid ?? '(no kid)')} (${described}) cannot verify ${jws.alg} signatures`);
    }
    // Without a kid, guessing among several keys would multiply the cost of forged tokens.
    if (jws.kid === undefined && fitting.length > 1) {
      throw new IdentityError('unknown_key', `token has no kid and issuer ${quote(iss)} publishes several ${jws.alg} keys`);
    }
    if (!fitting.some((key) => verifySignature(jws.alg, key.key, jws.signingInput, jws.signature))) {
      throw new IdentityError('bad_signature', `signature does not verify with key ${quote(jws.kid ?? '(no kid)')} of issuer ${quote(iss)}`);
    }

    const claims = checkClaims(jws.payload, entry, this.now() / 1000);
    const identity: Identity = deepFreeze({
      issuer: iss,
      subject: claims.subject,
      claims: jws.payload,
      issuerId: entry.id,
      tokenHash,
      expiresAt: claims.expiresAt,
      validUntil: claims.validUntil,
      ...(claims.tokenId !== undefined ? { tokenId: claims.tokenId } : {}),
    });
    this.cache?.set(tokenHash, identity, claims.validUntil);
    return identity;
  }
}
