import type { Identity } from '../identity/types.js';
import type { Store } from '../store/index.js';
import { storeFailures } from './errors.js';
import { IdTokenLedger } from './single-use.js';
import { OneTimeCodes } from './one-time-codes.js';
import { RequestLimits } from './rate-limits.js';
import { RefreshTokens } from './refresh-tokens.js';
import { SessionDirectory } from './revocation.js';
import { BrowserSessions } from './browser-sessions.js';
import { sessionKeys } from './keys.js';
import type {
  IdTokenSettings,
  RateLimitSettings,
  RefreshSettings,
  SessionFilter,
  SessionKind,
  SessionOrigin,
  SessionRecord,
  SessionSummary,
} from './types.js';

export interface SessionServiceOptions {
  store: Store;
  refresh: RefreshSettings;
  idTokens: IdTokenSettings;
  rateLimits: RateLimitSettings;
  now?: () => number;
  /** Told when a rate limit was skipped because the store failed (fail-open). */
  onRateLimitFailOpen?: (err: unknown) => void;
}

export interface StartSession {
  readonly identity: Identity;
  readonly service: string;
  readonly origin: SessionOrigin;
  /** Rules that matched when the session began. */
  readonly rules: readonly string[];
  /** The policy's cap for this session (Decision.refreshLifetime), seconds. */
  readonly lifetimeCap?: number;
  readonly clientId?: string;
  /** Which device asked, in words (people's sessions page). */
  readonly device?: string;
}

export interface RefreshedIdentity {
  /** Rebuilt from the claims captured at login, for a fresh policy evaluation. */
  readonly identity: Identity;
  readonly session: SessionRecord;
  /** What to return as refresh_token: the same token, or its successor with rotation. */
  readonly token: string;
}

export const DEFAULT_MAX_SESSIONS_PER_IDENTITY = 100;

export const DEFAULT_REFRESH: RefreshSettings = {
  enabled: true,
  workloadLifetimeSec: 3600,
  personLifetimeSec: 12 * 3600,
  personIssuers: [],
  rotate: false,
  maxPerIdentity: DEFAULT_MAX_SESSIONS_PER_IDENTITY,
};

export const DEFAULT_ID_TOKENS: IdTokenSettings = { singleUse: false, singleUseIssuers: [], singleUseRules: [], clockSkewSec: 60 };

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  enabled: true,
  onStoreFailure: 'open',
  perIdentity: { points: 300, durationSec: 60 },
  perIp: { points: 1200, durationSec: 60 },
  perIssuer: { points: 20_000, durationSec: 60 },
};

/**
 * Everything stateful about token requests, on one Store: refresh sessions,
 * single-use ID tokens, one-time codes, rate limits, listing and revocation.
 * Transport-neutral; every failure is a SessionError (store failures become 'unavailable').
 */
/** How precise "last used" is; also how often one session's refreshes write it. */
export const LAST_USED_RESOLUTION_MS = 60_000;
/** Sessions whose last write time this process remembers (forgotten all at once beyond it: only costs a write). */
const LAST_USED_TRACKED = 10_000;

export class SessionService {
  readonly store: Store;
  readonly codes: OneTimeCodes;
  readonly limits: RequestLimits;
  /** People signed in to the broker's pages; ended by the same operator revocations. */
  readonly browser: BrowserSessions;
  private readonly refreshTokens: RefreshTokens;
  private readonly ledger: IdTokenLedger;
  private readonly directory: SessionDirectory;
  private readonly now: () => number;
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(private readonly options: SessionServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    const r = options.refresh;
    this.refreshTokens = new RefreshTokens(this.store, {
      rotate: r.rotate,
      now: this.now,
      maxLifetimeMs: Math.max(r.workloadLifetimeSec, r.personLifetimeSec) * 1000,
      maxPerIdentity: r.maxPerIdentity ?? DEFAULT_MAX_SESSIONS_PER_IDENTITY,
    });
    this.ledger = new IdTokenLedger(this.store, { clockSkewSec: options.idTokens.clockSkewSec, now: this.now });
    this.directory = new SessionDirectory(this.store, this.refreshTokens);
    this.codes = new OneTimeCodes(this.store);
    this.limits = new RequestLimits(this.store, options.rateLimits, options.onRateLimitFailOpen);
    this.browser = new BrowserSessions(this.store, this.now);
  }

  get refreshEnabled(): boolean {
    return this.options.refresh.enabled;
  }

  kindOf(identity: Identity): SessionKind {
    return this.options.refresh.personIssuers.includes(identity.issuerId) ? 'person' : 'workload';
  }

  /** Seconds: the kind's default, capped by the policy (`refreshLifetime` of the rules that matched). */
  lifetimeOf(identity: Identity, cap?: number): number {
    const r = this.options.refresh;
    const lifetime = this.kindOf(identity) === 'person' ? r.personLifetimeSec : r.workloadLifetimeSec;
    return cap === undefined ? lifetime : Math.min(lifetime, cap);
  }

  /** Opens a session and returns its refresh token (the only time the token exists in clear). */
  async start(input: StartSession): Promise<{ token: string; session: SessionRecord }> {
    const { identity } = input;
    return storeFailures(this.refreshTokens.create({
      kind: this.kindOf(identity),
      origin: input.origin,
      issuer: identity.issuer,
      issuerId: identity.issuerId,
      subject: identity.subject,
      claims: identity.claims,
      idTokenHash: identity.tokenHash,
      idTokenExpiresAt: identity.expiresAt,
      ...(identity.tokenId !== undefined ? { idTokenId: identity.tokenId } : {}),
      service: input.service,
      rules: [...input.rules],
      ...(input.clientId !== undefined ? { clientId: input.clientId } : {}),
      ...(input.device !== undefined ? { device: input.device.slice(0, 200) } : {}),
      lifetimeSec: this.lifetimeOf(identity, input.lifetimeCap),
    }));
  }

  /** Validates a refresh token for `service` and rebuilds the identity it was issued to. */
  async refresh(token: string, service: string): Promise<RefreshedIdentity> {
    const { session, token: next } = await storeFailures(this.refreshTokens.redeem(token, service));
    this.touch(session);
    const identity: Identity = {
      issuer: session.issuer,
      subject: session.subject,
      claims: session.claims,
      issuerId: session.issuerId,
      tokenHash: session.idTokenHash,
      expiresAt: session.idTokenExpiresAt,
      ...(session.idTokenId !== undefined ? { tokenId: session.idTokenId } : {}),
    };
    return { identity, session, token: next };
  }

  /**
   * "Last used" on the person's sessions page: not worth failing or delaying a token for, and
   * not worth a store write per refresh either. Written at most once per LAST_USED_RESOLUTION_MS
   * per session by this process (docker refreshes once per pull, CI jobs many times a second).
   */
  private touch(session: SessionRecord): void {
    const now = this.now();
    const last = this.lastUsedWrites.get(session.id);
    if (last !== undefined && now - last < LAST_USED_RESOLUTION_MS) return;
    const ttl = session.expiresAt - now;
    if (ttl <= 0) return;
    if (this.lastUsedWrites.size >= LAST_USED_TRACKED) this.lastUsedWrites.clear();
    this.lastUsedWrites.set(session.id, now);
    this.store.put(sessionKeys.lastUsed(session.id), String(now), ttl).catch(() => {});
  }

  /** Records the ID token as used; false when it was used before (anywhere). */
  consumeIdToken(identity: Identity, use: 'exchange' | 'direct'): Promise<boolean> {
    return storeFailures(this.ledger.consume(identity, use));
  }

  /** Does configuration demand single use for this directly presented ID token? */
  singleUseRequired(identity: Identity, matchedRules: readonly string[]): boolean {
    const s = this.options.idTokens;
    return s.singleUse || s.singleUseIssuers.includes(identity.issuerId) || matchedRules.some((r) => s.singleUseRules.includes(r));
  }

  list(filter: SessionFilter, limit?: number): Promise<SessionSummary[]> {
    return storeFailures(this.directory.list(filter, limit));
  }

  /** Ends every matching session, people's browser sign-ins included; returns how many. */
  async revoke(filter: SessionFilter): Promise<number> {
    const ended = await storeFailures(this.directory.revoke(filter));
    return ended + (await storeFailures(this.browser.revoke(filter)));
  }

  /** When each session last refreshed (ms since the epoch); absent when never. */
  async lastUsed(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await storeFailures(
      Promise.all(
        ids.map(async (id) => {
          const raw = await this.store.get(sessionKeys.lastUsed(id));
          if (raw !== null && Number.isFinite(Number(raw))) out.set(id, Number(raw));
        }),
      ),
    );
    return out;
  }
}
