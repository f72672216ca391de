import { timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/index.js';
import { sha256 } from './hash.js';
import { isWellFormedSecret, newId, newSecret, secretHash } from './secrets.js';
import type { SessionFilter } from './types.js';

/** Cookie value of a person's browser session. */
export const BROWSER_SESSION_PREFIX = 'pcb_';

/** A person signed in to the broker's pages (sessions list, device approval, result page). */
export interface BrowserSession {
  readonly v: 1;
  readonly id: string;
  readonly issuer: string;
  readonly issuerId: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly tokenHash: string;
  readonly idTokenExpiresAt: number;
  readonly tokenId?: string;
  /** Display name, from the provider's configured name claims. */
  readonly name: string;
  /** Synchronizer token every state-changing form must echo. */
  readonly csrf: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export type NewBrowserSession = Omit<BrowserSession, 'v' | 'id' | 'csrf' | 'createdAt' | 'expiresAt'>;

const keys = {
  session: (hash: string): string => `bs:${hash}`,
  all: 'bs:all',
  subject: (subject: string): string => `bs:sub:${sha256(subject)}`,
};

function parse(raw: string | null): BrowserSession | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<BrowserSession>;
    const ok =
      v.v === 1 &&
      typeof v.id === 'string' &&
      typeof v.issuer === 'string' &&
      typeof v.issuerId === 'string' &&
      typeof v.subject === 'string' &&
      typeof v.claims === 'object' &&
      v.claims !== null &&
      typeof v.tokenHash === 'string' &&
      typeof v.idTokenExpiresAt === 'number' &&
      typeof v.name === 'string' &&
      typeof v.csrf === 'string' &&
      typeof v.createdAt === 'number' &&
      typeof v.expiresAt === 'number';
    return ok ? (v as BrowserSession) : null;
  } catch {
    return null;
  }
}

/**
 * Browser sessions of people, in the Store under the hash of the cookie value,
 * indexed by subject so that an operator's `sessions revoke --subject` ends them
 * together with the person's refresh sessions.
 */
export class BrowserSessions {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens a session; returns the cookie value (the only time it exists in clear). */
  async create(input: NewBrowserSession, lifetimeSec: number): Promise<{ cookie: string; session: BrowserSession }> {
    const now = this.now();
    const session: BrowserSession = {
      v: 1,
      id: newId(),
      ...input,
      csrf: newSecret(''),
      createdAt: now,
      expiresAt: now + lifetimeSec * 1000,
    };
    const cookie = newSecret(BROWSER_SESSION_PREFIX);
    await this.store.putWithIndexes(keys.session(secretHash(cookie)), JSON.stringify(session), lifetimeSec * 1000, [keys.all, keys.subject(session.subject)]);
    return { cookie, session };
  }

  /** The live session of a cookie value, or null. */
  async get(cookie: string | undefined): Promise<BrowserSession | null> {
    if (cookie === undefined || !isWellFormedSecret(BROWSER_SESSION_PREFIX, cookie)) return null;
    const session = parse(await this.store.get(keys.session(secretHash(cookie))));
    return session !== null && session.expiresAt > this.now() ? session : null;
  }

  /** Constant-time comparison of a submitted CSRF token with the session's. */
  static csrfMatches(session: BrowserSession, submitted: string | undefined): boolean {
    if (submitted === undefined) return false;
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(submitted);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Log out: deletes the session of this cookie. */
  async end(cookie: string | undefined): Promise<void> {
    if (cookie === undefined || !isWellFormedSecret(BROWSER_SESSION_PREFIX, cookie)) return;
    const key = keys.session(secretHash(cookie));
    const session = parse(await this.store.get(key));
    await this.store.delete(key);
    if (session) await Promise.all([this.store.removeFromIndex(keys.all, key), this.store.removeFromIndex(keys.subject(session.subject), key)]);
  }

  /** Ends the browser sessions an operator's filter names (subject, issuer or all); returns how many. */
  async revoke(filter: SessionFilter): Promise<number> {
    // Browser sessions have no rule, no session id of a refresh token and no refresh token: those filters do not reach them.
    if (filter.id !== undefined || filter.rule !== undefined || filter.token !== undefined) return 0;
    if (filter.subject === undefined && filter.issuer === undefined && filter.all !== true) return 0;
    const index = filter.subject !== undefined ? keys.subject(filter.subject) : keys.all;
    let ended = 0;
    for (const key of await this.store.indexMembers(index)) {
      const session = parse(await this.store.get(key));
      const matches =
        session !== null &&
        (filter.subject === undefined || session.subject === filter.subject) &&
        (filter.issuer === undefined || session.issuer === filter.issuer || session.issuerId === filter.issuer);
      if (session === null) {
        await this.store.removeFromIndex(index, key);
        continue;
      }
      if (!matches) continue;
      await this.store.delete(key);
      await Promise.all([this.store.removeFromIndex(keys.all, key), this.store.removeFromIndex(keys.subject(session.subject), key)]);
      ended += 1;
    }
    return ended;
  }
}
