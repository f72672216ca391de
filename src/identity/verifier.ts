/**
 * ID token verification on node:crypto: size cap → strict JWS parse → issuer lookup (no network
 * for untrusted issuers) → alg allowlist → explicit type → key by kid (type bound to alg) →
 * signature → claims → how the token was presented.
 *
 * The signature check stays on node:crypto rather than jose's jwtVerify because it is on every
 * GET /token: a ready KeyObject and one synchronous verify cost a fraction of jose's WebCrypto
 * path (test/bench/id-token-verify.ts). A property-based test holds the two to the same answers
 * (test/unit/identity/verifier-vs-jose.test.ts); where this one is stricter, docs/security.md says why.
 */
import { describeKey, keyFitsAlgorithm, verifySignature, type VerificationKey } from './algorithms.js';
import { checkClaims, quote } from './claims.js';
import { checkTokenType } from './explicit-typing.js';
import type { IssuerRegistry } from './issuer-registry.js';
import type { KeyStore, WarmResult } from './jwks-cache.js';
import { MAX_TOKEN_BYTES, parseCompactJws } from './jws.js';
import { IdentityError, type Identity, type IdentityVerifier, type Presentation, type VerifyOptions } from './types.js';
import type { VerificationCache } from './verification-cache.js';
import { deepFreeze, sha256Base64url } from '../lib/index.js';

export function hashToken(token: string): string {
  return sha256Base64url(token);
}

/**
 * An address the provider has not verified proves nothing about who signed in (anyone can
 * type someone else's address into a self-service profile), so policy never sees it.
 * Booleans only, plus the string "true" that some providers (AWS Cognito) send.
 */
export function withVerifiedEmailOnly(payload: Readonly<Record<string, unknown>>, verifiedClaim: string): Readonly<Record<string, unknown>> {
  if (!('email' in payload)) return payload;
  const verified = payload[verifiedClaim];
  if (verified === true || verified === 'true') return payload;
  const { email: _dropped, ...rest } = payload;
  return rest;
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

  /** Resolves once static key sets are imported; rejects when one has no usable key (a configuration error). */
  ready(): Promise<void> {
    return this.keys.ready();
  }

  async verify(token: string, options?: string | VerifyOptions): Promise<Identity> {
    const opts: VerifyOptions = typeof options === 'string' ? { tokenHash: options } : (options ?? {});
    if (typeof token !== 'string' || token.length === 0) throw new IdentityError('malformed', 'no token');
    if (token.length > MAX_TOKEN_BYTES) throw new IdentityError('malformed', `token is longer than ${MAX_TOKEN_BYTES} bytes`);
    const tokenHash = opts.tokenHash ?? hashToken(token);
    const presentation = opts.presentation ?? 'direct';
    const cached = this.cache?.get(tokenHash, this.now() / 1000);
    if (cached) {
      this.checkPresentation(cached.issuerId, presentation);
      return cached;
    }

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

    checkTokenType(jws.header, entry);
    // Before any key fetch: a directly presented token of such an issuer is refused whatever it holds.
    this.checkPresentation(entry.id, presentation);

    const candidates = await this.keys.sourceFor(entry, iss, opts.client).keysFor(jws.kid);
    const fitting = candidates.filter((key) => keyFitsAlgorithm(key, jws.alg));
    if (fitting.length === 0) {
      const described = candidates.map((key: VerificationKey) => describeKey(key)).join(', ');
      throw new IdentityError('bad_signature', `key ${quote(jws.kid ?? '(no kid)')} (${described}) cannot verify ${jws.alg} signatures`);
    }
    // One key, as jose selects: trying several would multiply the cost of forged tokens, and
    // an issuer that publishes two keys a token cannot tell apart is misconfigured.
    if (fitting.length > 1) {
      throw new IdentityError('unknown_key', `${jws.kid === undefined ? 'token has no kid and' : `kid ${quote(jws.kid)}:`} issuer ${quote(iss)} publishes several ${jws.alg} keys it could mean`);
    }
    const key = fitting[0] as VerificationKey;
    if (key.key === undefined) {
      throw new IdentityError('bad_signature', `key ${quote(jws.kid ?? '(no kid)')} of issuer ${quote(iss)} cannot verify anything: ${key.unusable ?? 'unusable'}`);
    }
    if (!verifySignature(jws.alg, key.key, jws.signingInput, jws.signature)) {
      throw new IdentityError('bad_signature', `signature does not verify with key ${quote(jws.kid ?? '(no kid)')} of issuer ${quote(iss)}`);
    }

    const claims = checkClaims(jws.payload, entry, this.now() / 1000);
    const identity: Identity = deepFreeze({
      issuer: iss,
      subject: claims.subject,
      claims: entry.verifiedEmailClaim === undefined ? jws.payload : withVerifiedEmailOnly(jws.payload, entry.verifiedEmailClaim),
      issuerId: entry.id,
      tokenHash,
      expiresAt: claims.expiresAt,
      validUntil: claims.validUntil,
      ...(claims.tokenId !== undefined ? { tokenId: claims.tokenId } : {}),
    });
    this.cache?.set(tokenHash, identity, claims.validUntil);
    return identity;
  }

  /** Checked on cache hits too: the cache is keyed by the token, not by how it arrived. */
  private checkPresentation(issuerId: string, presentation: Presentation): void {
    if (presentation === 'exchange' || this.issuers.byId(issuerId)?.exchangeOnly !== true) return;
    throw new IdentityError(
      'exchange_only',
      `issuer ${JSON.stringify(issuerId)} accepts its tokens only through the token exchange (POST /token, grant_type token-exchange)`,
    );
  }
}
