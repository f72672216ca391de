import { PortcullisError } from '../lib/index.js';

/**
 * Which issuers are trusted, and with which audiences, algorithms and time rules.
 * Exact issuers are looked up in a Map; wildcard patterns are compiled once into anchored
 * regular expressions in which `*` stands for one run of [A-Za-z0-9_-] (never `.` or `/`).
 */
import { assertFetchableUrl } from './fetch-bounded.js';
import { wildcardCoversRegistrableDomain } from './registrable-domain.js';

/** A JSON Web Key Set as published at a jwks_uri. */
export interface JwksDocument {
  readonly keys: readonly Readonly<Record<string, unknown>>[];
}

export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type SupportedAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export const DEFAULT_ALGORITHMS: readonly SupportedAlgorithm[] = ['RS256', 'ES256'];
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** Longest `exp - iat` accepted by default: a day. Also catches times written in milliseconds. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;
/** How long keys from the last good JWKS fetch stay usable while refetching fails. */
export const DEFAULT_JWKS_MAX_STALE_SECONDS = 86_400;

/** One trusted issuer as written in configuration. */
export interface IssuerConfig {
  /** Stable name, used in Identity.issuerId, logs and policy. */
  id: string;
  /** Exact issuer URL, or a pattern with `*` wildcards (one [A-Za-z0-9_-]+ run each). */
  issuer: string;
  /** Accepted `aud` values; a token must carry at least one. Required, non-empty. */
  audiences: string[];
  /** Accepted JWS algorithms; default RS256 and ES256. `none` and HS* are never accepted. */
  algorithms?: string[];
  /** Refuse tokens whose `iat` is older than this many seconds (then `iat` is required). */
  maxTokenAge?: number;
  /** Tolerance for exp/nbf/iat in seconds; default 60, at most 300. */
  clockSkew?: number;
  /** Fetch keys from here instead of discovering jwks_uri. */
  jwksUri?: string;
  /** Static key set (air-gapped): the verifier never makes a network request for this issuer. */
  jwks?: JwksDocument;
  /** Discover jwks_uri from <issuer>/.well-known/openid-configuration; default true unless jwksUri or jwks is set. */
  discovery?: boolean;
  /**
   * `typ` header values accepted besides none and `JWT` (compared case-insensitively, an
   * `application/` prefix ignored). Another type, e.g. `at+jwt`, marks another kind of token.
   */
  allowedTypes?: string[];
  /**
   * Accepted `azp` values. A token naming audiences other than ours must carry one of these; a
   * token with any `azp` must name one of these. Default: the entry's audiences.
   */
  authorizedParties?: string[];
  /** Refuse tokens whose `exp - iat` exceeds this many seconds; default 86400. */
  maxTokenLifetime?: number;
  /** Keys from the last good JWKS fetch are used at most this long while refetching fails; default 86400 s. */
  jwksMaxStale?: number;
  /** Accept this issuer's tokens only through the RFC 8693 token exchange, never presented directly. */
  exchangeOnly?: boolean;
  /**
   * People's providers: `email` is kept only when this claim is true (e.g. `email_verified`);
   * otherwise it is removed before policy sees the claims. Unset: claims pass unchanged.
   */
  verifiedEmailClaim?: string;
}

/** A validated IssuerConfig with defaults applied. */
export interface TrustedIssuer {
  readonly id: string;
  readonly issuer: string;
  readonly wildcard: boolean;
  readonly audiences: ReadonlySet<string>;
  readonly algorithms: ReadonlySet<string>;
  readonly maxTokenAge: number | undefined;
  readonly clockSkew: number;
  readonly jwksUri: string | undefined;
  readonly jwks: JwksDocument | undefined;
  readonly discovery: boolean;
  /** Normalised (lowercase, no `application/` prefix) `typ` values accepted besides none and `jwt`. */
  readonly allowedTypes: ReadonlySet<string>;
  readonly authorizedParties: ReadonlySet<string>;
  readonly maxTokenLifetime: number;
  /** Milliseconds. */
  readonly jwksMaxStaleMs: number;
  readonly exchangeOnly: boolean;
  readonly verifiedEmailClaim: string | undefined;
}

/** A trust configuration that cannot work; raised at start, never per request. */
export class IssuerConfigError extends PortcullisError<'invalid_issuer_config'> {
  override readonly name = 'IssuerConfigError';
  constructor(message: string) {
    super('invalid_issuer_config', message);
  }
}

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/** Compile a wildcard issuer pattern: anchored, every character literal except `*`. */
export function compileIssuerPattern(pattern: string): RegExp {
  if (pattern.includes('**')) throw new IssuerConfigError(`issuer pattern ${pattern}: "**" is not allowed`);
  const source = pattern
    .split('*')
    .map((literal) => literal.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'))
    .join('[A-Za-z0-9_-]+');
  return new RegExp(`^${source}$`);
}

function validate(config: IssuerConfig): TrustedIssuer {
  const where = `issuer ${JSON.stringify(config.id)}`;
  if (!isNonEmptyString(config.id)) throw new IssuerConfigError('issuer entry without an id');
  if (!isNonEmptyString(config.issuer)) throw new IssuerConfigError(`${where}: issuer is required`);
  const wildcard = config.issuer.includes('*');
  // A pattern must still be an absolute http(s) URL once its wildcards are filled in.
  const sample = config.issuer.replaceAll('*', 'x');
  if (!/^https?:\/\/[^/?#]+/.test(config.issuer) || !URL.canParse(sample)) {
    throw new IssuerConfigError(`${where}: issuer ${config.issuer} is not an absolute http(s) URL`);
  }
  if (wildcard) {
    // `*` may stand for a host label (EKS regions) but never for the registrable domain.
    const host = /^https?:\/\/([^/:?#]*)/.exec(config.issuer)?.[1] ?? '';
    const why = wildcardCoversRegistrableDomain(host);
    if (why !== undefined) {
      throw new IssuerConfigError(`${where}: the wildcard may not cover the registrable domain in ${config.issuer}: ${why}`);
    }
  }

  if (!Array.isArray(config.audiences) || config.audiences.length === 0 || !config.audiences.every(isNonEmptyString)) {
    throw new IssuerConfigError(`${where}: audiences must be a non-empty list of non-empty strings`);
  }

  const algorithms = config.algorithms ?? DEFAULT_ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new IssuerConfigError(`${where}: algorithms must be a non-empty list`);
  }
  for (const alg of algorithms) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new IssuerConfigError(
        `${where}: algorithm ${JSON.stringify(alg)} is not allowed (allowed: ${SUPPORTED_ALGORITHMS.join(', ')})`,
      );
    }
  }

  const clockSkew = config.clockSkew ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (!Number.isFinite(clockSkew) || clockSkew < 0 || clockSkew > MAX_CLOCK_SKEW_SECONDS) {
    throw new IssuerConfigError(`${where}: clockSkew must be between 0 and ${MAX_CLOCK_SKEW_SECONDS} seconds`);
  }
  if (config.maxTokenAge !== undefined && (!Number.isFinite(config.maxTokenAge) || config.maxTokenAge <= 0)) {
    throw new IssuerConfigError(`${where}: maxTokenAge must be a positive number of seconds`);
  }

  const maxTokenLifetime = config.maxTokenLifetime ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!Number.isFinite(maxTokenLifetime) || maxTokenLifetime <= 0) {
    throw new IssuerConfigError(`${where}: maxTokenLifetime must be a positive number of seconds`);
  }
  const jwksMaxStale = config.jwksMaxStale ?? DEFAULT_JWKS_MAX_STALE_SECONDS;
  if (!Number.isFinite(jwksMaxStale) || jwksMaxStale <= 0) {
    throw new IssuerConfigError(`${where}: jwksMaxStale must be a positive number of seconds`);
  }
  const allowedTypes = config.allowedTypes ?? [];
  if (!Array.isArray(allowedTypes) || !allowedTypes.every(isNonEmptyString)) {
    throw new IssuerConfigError(`${where}: allowedTypes must be a list of non-empty strings`);
  }
  const authorizedParties = config.authorizedParties ?? config.audiences;
  if (!Array.isArray(authorizedParties) || authorizedParties.length === 0 || !authorizedParties.every(isNonEmptyString)) {
    throw new IssuerConfigError(`${where}: authorizedParties must be a non-empty list of non-empty strings`);
  }
  if (config.exchangeOnly !== undefined && typeof config.exchangeOnly !== 'boolean') {
    throw new IssuerConfigError(`${where}: exchangeOnly must be true or false`);
  }

  if (config.jwks !== undefined && (typeof config.jwks !== 'object' || !Array.isArray(config.jwks.keys))) {
    throw new IssuerConfigError(`${where}: jwks must be an object with a keys array`);
  }
  // A static key set means no network at all; an explicit jwksUri skips discovery.
  const discovery = config.jwks === undefined && config.jwksUri === undefined && (config.discovery ?? true);
  try {
    if (config.jwks === undefined && config.jwksUri !== undefined) {
      if (config.jwksUri.includes('*')) throw new IssuerConfigError(`${where}: jwksUri may not contain wildcards`);
      assertFetchableUrl(config.jwksUri, `${where}: jwksUri`);
    } else if (config.jwks === undefined) {
      if (!discovery) throw new IssuerConfigError(`${where}: with discovery off, set jwksUri or jwks`);
      assertFetchableUrl(sample, `${where}: issuer`);
    }
  } catch (error) {
    throw error instanceof IssuerConfigError ? error : new IssuerConfigError((error as Error).message);
  }

  return {
    id: config.id,
    issuer: config.issuer,
    wildcard,
    audiences: new Set(config.audiences),
    algorithms: new Set(algorithms),
    maxTokenAge: config.maxTokenAge,
    clockSkew,
    jwksUri: config.jwksUri,
    jwks: config.jwks,
    discovery,
    allowedTypes: new Set(allowedTypes.map(normaliseType)),
    authorizedParties: new Set(authorizedParties),
    maxTokenLifetime,
    jwksMaxStaleMs: jwksMaxStale * 1000,
    exchangeOnly: config.exchangeOnly ?? false,
    verifiedEmailClaim: config.verifiedEmailClaim,
  };
}

/** A `typ` value as compared: lowercase, `application/` prefix dropped (RFC 7515 §4.1.9). */
export function normaliseType(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

export class IssuerRegistry {
  private readonly exact = new Map<string, TrustedIssuer>();
  private readonly entriesById = new Map<string, TrustedIssuer>();
  private readonly patterns: { readonly pattern: RegExp; readonly entry: TrustedIssuer }[] = [];
  readonly entries: readonly TrustedIssuer[];

  constructor(configs: readonly IssuerConfig[]) {
    const ids = new Set<string>();
    const entries: TrustedIssuer[] = [];
    for (const config of configs) {
      const entry = validate(config);
      if (ids.has(entry.id)) throw new IssuerConfigError(`issuer id ${JSON.stringify(entry.id)} is used twice`);
      ids.add(entry.id);
      if (entry.wildcard) {
        if (this.patterns.some((p) => p.entry.issuer === entry.issuer)) {
          throw new IssuerConfigError(`issuer pattern ${entry.issuer} is configured twice`);
        }
        this.patterns.push({ pattern: compileIssuerPattern(entry.issuer), entry });
      } else {
        if (this.exact.has(entry.issuer)) throw new IssuerConfigError(`issuer ${entry.issuer} is configured twice`);
        this.exact.set(entry.issuer, entry);
      }
      entries.push(entry);
      this.entriesById.set(entry.id, entry);
    }
    this.entries = entries;
  }

  /** The entry with this id. */
  byId(id: string): TrustedIssuer | undefined {
    return this.entriesById.get(id);
  }

  /** The entry trusting `iss`: exact match first, then patterns in configuration order. */
  match(iss: string): TrustedIssuer | undefined {
    const exact = this.exact.get(iss);
    if (exact) return exact;
    for (const { pattern, entry } of this.patterns) {
      if (pattern.test(iss)) return entry;
    }
    return undefined;
  }
}
