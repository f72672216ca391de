import type { Store } from '../store/index.js';
import { SessionError } from './errors.js';
import { sessionIndexes, sessionKeys } from './keys.js';
import { REFRESH_TOKEN_PREFIX, isWellFormedSecret, newId, newSecret, secretHash } from './secrets.js';
import { parseSessionRecord } from './record.js';
import type { SessionRecord } from './types.js';
import { deepFreeze } from '../lib/index.js';

/** Leaves room under the store's 64 KiB value limit for the record's other fields. */
export const MAX_RECORD_BYTES = 60_000;
/** Parsed session records kept for their exact stored text; emptied when full. */
const MAX_PARSED_RECORDS = 4096;

export type NewSession = Omit<SessionRecord, 'v' | 'id' | 'createdAt' | 'expiresAt' | 'generation'> & {
  readonly lifetimeSec: number;
};

export interface Redeemed {
  readonly session: SessionRecord;
  /** The token the client should keep: the same one unless rotation is on. */
  readonly token: string;
}

export function indexesOf(record: SessionRecord): string[] {
  return [
    sessionIndexes.all,
    sessionIndexes.id(record.id),
    sessionIndexes.subject(record.subject),
    sessionIndexes.issuer(record.issuer),
    sessionIndexes.identity(record.issuer, record.subject),
    ...record.rules.map(sessionIndexes.rule),
  ];
}

export interface RefreshTokenOptions {
  readonly rotate: boolean;
  readonly now: () => number;
  /** The longest any session can live, ms: a revocation marker must outlive every token of its session. */
  readonly maxLifetimeMs: number;
  /** Sessions one identity (issuer + subject) may hold; the oldest end when a new one opens. */
  readonly maxPerIdentity: number;
}

/**
 * Refresh tokens on a Store: opaque, stored by hash, bound to one identity and
 * one service. Nothing is cached in the process, so a revocation at any replica
 * applies at every replica on the next request.
 *
 * Revocation always wins a race with rotation: it writes a per-session marker
 * before deleting anything, and rotation (take the old token, leave a tombstone,
 * write the new one) is one atomic store step that does nothing once the marker
 * exists. A token written before the marker is in the session's index by then, so
 * the revocation's listing finds and deletes it.
 */
export class RefreshTokens {
  private readonly parsed = new Map<string, { readonly raw: string; readonly session: SessionRecord }>();

  constructor(
    private readonly store: Store,
    private readonly options: RefreshTokenOptions,
  ) {}

  async create(input: NewSession): Promise<{ token: string; session: SessionRecord }> {
    const now = this.options.now();
    const { lifetimeSec, ...rest } = input;
    const session: SessionRecord = { v: 1, id: newId(), ...rest, createdAt: now, expiresAt: now + lifetimeSec * 1000, generation: 0 };
    await this.makeRoomFor(session);
    const token = newSecret(REFRESH_TOKEN_PREFIX);
    const value = serialize(session);
    await this.store.putWithIndexes(sessionKeys.refresh(secretHash(token)), value, ttlOf(session, now), indexesOf(session));
    return { token, session };
  }

  /** The session for `token` if it is live and for `service`; otherwise a SessionError. */
  async redeem(token: string, service: string): Promise<Redeemed> {
    if (!isWellFormedSecret(REFRESH_TOKEN_PREFIX, token)) throw new SessionError('invalid_grant', 'malformed refresh token');
    const hash = secretHash(token);
    const raw = await this.store.get(sessionKeys.refresh(hash));
    if (raw === null) {
      if (this.options.rotate) await this.refuseReuse(await this.store.get(sessionKeys.rotated(hash)));
      throw invalidGrant();
    }
    const session = this.parse(hash, raw);
    if (session === null || session.expiresAt <= this.options.now()) throw invalidGrant();
    if (session.service !== service) {
      throw new SessionError('wrong_service', 'refresh token was issued for another service');
    }
    if (!this.options.rotate) return { session, token };
    return this.rotate(hash, session);
  }

  /**
   * The record is read from the store on every use (so revocation and expiry hold at once);
   * only parsing and checking it is skipped when the stored text is exactly what was parsed
   * before. A CI job refreshes the same session many times a minute.
   */
  private parse(hash: string, raw: string): SessionRecord | null {
    const known = this.parsed.get(hash);
    if (known !== undefined && known.raw === raw) return known.session;
    const session = parseSessionRecord(raw);
    if (session === null) return null;
    if (this.parsed.size >= MAX_PARSED_RECORDS) this.parsed.clear();
    this.parsed.set(hash, { raw, session: deepFreeze(session) });
    return session;
  }

  /**
   * Ends session `id`: the marker first, so no rotation in flight can write a new
   * token afterwards, then every stored generation. Returns how many tokens were deleted.
   */
  async revokeSession(id: string): Promise<number> {
    await this.store.put(sessionKeys.revoked(id), '1', this.options.maxLifetimeMs);
    let count = 0;
    const index = sessionIndexes.id(id);
    for (;;) {
      const members = await this.store.indexMembers(index);
      if (members.length === 0) return count;
      for (const key of members) {
        const raw = await this.store.get(key);
        const session = raw === null ? null : parseSessionRecord(raw);
        // Removed from this index in every case, so the loop ends whatever the record says.
        await this.store.removeFromIndex(index, key);
        if (session === null) continue;
        await this.deleteKey(key, session);
        count += 1;
      }
    }
  }

  /** The session a rotated-away token belonged to (from its tombstone), or null. */
  async familyOf(tokenKey: string): Promise<Tombstone | null> {
    if (!tokenKey.startsWith('rt:')) return null;
    return parseTombstone(await this.store.get(sessionKeys.rotated(tokenKey.slice('rt:'.length))));
  }

  /** Remove the value and its index entries (an index entry without a value would be harmless, but counts). */
  async deleteKey(key: string, session: SessionRecord): Promise<void> {
    await this.store.delete(key);
    await Promise.all(indexesOf(session).map((index) => this.store.removeFromIndex(index, key)));
  }

  /** An old token came back: either it was stolen or the client lost the new one; end the session both ways. */
  private async refuseReuse(tombstone: string | null): Promise<void> {
    const family = parseTombstone(tombstone);
    if (family === null) return;
    await this.revokeSession(family.id);
    throw new SessionError('reused', 'refresh token was already used; the session is revoked, log in again');
  }

  private async rotate(hash: string, session: SessionRecord): Promise<Redeemed> {
    const now = this.options.now();
    const next: SessionRecord = { ...session, generation: session.generation + 1 };
    const token = newSecret(REFRESH_TOKEN_PREFIX);
    const result = await this.store.swap({
      from: sessionKeys.refresh(hash),
      fromIndexes: indexesOf(session),
      tombstone: sessionKeys.rotated(hash),
      tombstoneValue: JSON.stringify(tombstoneOf(session)),
      guard: sessionKeys.revoked(session.id),
      to: sessionKeys.refresh(secretHash(token)),
      value: serialize(next),
      indexes: indexesOf(next),
      ttlMs: ttlOf(session, now),
    });
    if (result.outcome === 'swapped') return { session: next, token };
    // Used concurrently: the other use left the tombstone, so this is a reuse like any other.
    if (result.outcome === 'missing') await this.refuseReuse(result.tombstone);
    throw invalidGrant();
  }

  /** At most maxPerIdentity sessions per identity: the ones closest to expiry end first. */
  private async makeRoomFor(session: SessionRecord): Promise<void> {
    const index = sessionIndexes.identity(session.issuer, session.subject);
    const members = await this.store.indexMembers(index, this.options.maxPerIdentity + 100);
    let excess = members.length - this.options.maxPerIdentity + 1;
    for (const key of members) {
      if (excess <= 0) return;
      const raw = await this.store.get(key);
      const record = raw === null ? null : parseSessionRecord(raw);
      if (record === null) await this.store.removeFromIndex(index, key);
      else await this.revokeSession(record.id);
      excess -= 1;
    }
  }
}

/**
 * What a rotated-away token leaves behind: enough of its session to end it on reuse
 * and to match a revocation filter, since the fields named here never change on rotation.
 */
export type Tombstone = Pick<SessionRecord, 'id' | 'issuer' | 'issuerId' | 'subject' | 'rules'>;

function tombstoneOf(s: SessionRecord): Tombstone {
  return { id: s.id, issuer: s.issuer, issuerId: s.issuerId, subject: s.subject, rules: s.rules };
}

function parseTombstone(raw: string | null): Tombstone | null {
  if (raw === null) return null;
  try {
    const t = JSON.parse(raw) as Partial<Tombstone>;
    if (typeof t.id === 'string' && typeof t.issuer === 'string' && typeof t.issuerId === 'string' && typeof t.subject === 'string' && Array.isArray(t.rules)) {
      return { id: t.id, issuer: t.issuer, issuerId: t.issuerId, subject: t.subject, rules: t.rules.filter((r): r is string => typeof r === 'string') };
    }
  } catch {
    // Not JSON: written by an earlier version, which stored the session id alone.
  }
  return { id: raw, issuer: '', issuerId: '', subject: '', rules: [] };
}

const invalidGrant = (): SessionError => new SessionError('invalid_grant', 'unknown, expired or revoked refresh token');

function serialize(session: SessionRecord): string {
  const value = JSON.stringify(session);
  if (Buffer.byteLength(value) > MAX_RECORD_BYTES) {
    throw new SessionError('too_large', 'the identity has too many claims to keep in a session');
  }
  return value;
}

function ttlOf(session: SessionRecord, now: number): number {
  const ttl = session.expiresAt - now;
  if (ttl <= 0) throw new SessionError('invalid_grant', 'session lifetime is zero');
  return ttl;
}
