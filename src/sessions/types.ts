/** Sessions: what a refresh token stands for, kept in the Store (never the token itself). */

/** People get longer sessions than workloads; decided once, at creation, from the issuer. */
export type SessionKind = 'workload' | 'person';

/**
 * How the session began: GET offline_token, POST password+offline, RFC 8693 exchange,
 * a person's browser hand-off to the CLI (`browser`) or the device grant (`device`).
 */
export type SessionOrigin = 'login' | 'password' | 'exchange' | 'browser' | 'device';

/** Stored under the SHA-256 of the refresh token. Claims are kept so policy can be re-evaluated on refresh. */
export interface SessionRecord {
  readonly v: 1;
  /** Stable across rotations; what `sessions list` shows and `revoke --id` takes. */
  readonly id: string;
  readonly kind: SessionKind;
  readonly origin: SessionOrigin;
  readonly issuer: string;
  readonly issuerId: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** SHA-256 of the ID token that opened the session. */
  readonly idTokenHash: string;
  /** `exp` of that ID token, seconds. */
  readonly idTokenExpiresAt: number;
  readonly idTokenId?: string;
  /** The one `service` (audience) this session may ask tokens for. */
  readonly service: string;
  /** Rules that matched at creation: revocation by rule finds the session through them. */
  readonly rules: readonly string[];
  readonly clientId?: string;
  /** Which device asked, in words, for the person's sessions page (e.g. "device sign-in from 10.0.0.7"). */
  readonly device?: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Bumped on each rotation. */
  readonly generation: number;
}

/** What listing shows: no claims, no hashes. */
export interface SessionSummary {
  readonly id: string;
  readonly kind: SessionKind;
  readonly origin: SessionOrigin;
  readonly issuer: string;
  readonly issuerId: string;
  readonly subject: string;
  readonly service: string;
  readonly rules: readonly string[];
  readonly clientId?: string;
  readonly device?: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly generation: number;
}

/** Which sessions a list or revoke applies to. All given fields must match; none given matches nothing (use `all`). */
export interface SessionFilter {
  readonly id?: string;
  readonly subject?: string;
  readonly issuer?: string;
  readonly rule?: string;
  /** A refresh token itself: the session it belongs to. */
  readonly token?: string;
  readonly all?: boolean;
}

export interface RefreshSettings {
  /** Hand out refresh tokens at all (offline requests, exchange). */
  readonly enabled: boolean;
  readonly workloadLifetimeSec: number;
  readonly personLifetimeSec: number;
  /** Issuer ids whose identities are people (SessionKind 'person'). */
  readonly personIssuers: readonly string[];
  /** Issue a new refresh token on each use and revoke the session when an old one comes back. */
  readonly rotate: boolean;
  /** Sessions one identity (issuer + subject) may hold at once; opening one more ends the oldest. Default 100. */
  readonly maxPerIdentity?: number;
}

export interface IdTokenSettings {
  /** Every directly presented ID token may be used once only. */
  readonly singleUse: boolean;
  /** …or only those from these issuer ids… */
  readonly singleUseIssuers: readonly string[];
  /** …or only those for which one of these rules matched. */
  readonly singleUseRules: readonly string[];
  /** Markers outlive the token's exp by this much, matching the verifier's leeway. */
  readonly clockSkewSec: number;
}

export interface LimitSettings {
  readonly points: number;
  readonly durationSec: number;
}

export interface RateLimitSettings {
  readonly enabled: boolean;
  /** With the store down: 'open' lets requests through unlimited, 'closed' answers 503. */
  readonly onStoreFailure: 'open' | 'closed';
  readonly perIdentity: LimitSettings;
  readonly perIp: LimitSettings;
  readonly perIssuer: LimitSettings;
}
