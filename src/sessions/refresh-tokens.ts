import type { Store } from '../store/index.js';
import { SessionError } from './errors.js';
import { sessionIndexes, sessionKeys } from './keys.js';
import { REFRESH_TOKEN_PREFIX, isWellFormedSecret, newId, newSecret, secretHash } from './secrets.js';
import { parseSessionRecord } from './record.js';
import type { SessionRecord } from './types.js';

/** Leaves room under the store's 64 KiB value limit for the record's other fields. */
export const MAX_RECORD_BYTES = 60_000;

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
    ...record.rules.map(sessionIndexes.rule),
  ];
}

/**
 * Refresh tokens on a Store: opaque, stored by hash, bound to one identity and
 * one service. Nothing is cached in the process, so a revocation at any replica
 * applies at every replica on the next request.
 */
export class RefreshTokens {
  constructor(
    private readonly store: Store,
    private readonly options: { rotate: boolean; now: () => number },
  ) {}

  async create(input: NewSession): Promise<{ token: string; session: SessionRecord }> {
    const now = this.options.now();
    const { lifetimeSec, ...rest } = input;
    const session: SessionRecord = { v: 1, id: newId(), ...rest, createdAt: now, expiresAt: now + lifetimeSec * 1000, generation: 0 };
    const token = await this.write(session);
    return { token, session };
  }

  /** The session for `token` if it is live and for `service`; otherwise a SessionError. */
  async redeem(token: string, service: string): Promise<Redeemed> {
    if (!isWellFormedSecret(REFRESH_TOKEN_PREFIX, token)) throw new SessionError('invalid_grant', 'malformed refresh token');
    const hash = secretHash(token);
    const raw = await this.store.get(sessionKeys.refresh(hash));
    if (raw === null) {
      if (this.options.rotate) {
        const family = await this.store.get(sessionKeys.rotated(hash));
        if (family !== null) {
          // An old token came back: either it was stolen or the client lost the new one; end the session both ways.
          await this.revokeSession(family);
          throw new SessionError('reused', 'refresh token was already used; the session is revoked, log in again');
        }
      }
      throw new SessionError('invalid_grant', 'unknown, expired or revoked refresh token');
    }
    const session = parseSessionRecord(raw);
    if (session === null || session.expiresAt <= this.options.now()) {
      throw new SessionError('invalid_grant', 'unknown, expired or revoked refresh token');
    }
    if (session.service !== service) {
      throw new SessionError('wrong_service', 'refresh token was issued for another service');
    }
    if (!this.options.rotate) return { session, token };
    return this.rotate(hash, session);
  }

  /** Deletes the session `token` belongs to. True when there was one. */
  async revokeToken(token: string): Promise<SessionRecord | null> {
    if (!isWellFormedSecret(REFRESH_TOKEN_PREFIX, token)) return null;
    const key = sessionKeys.refresh(secretHash(token));
    const raw = await this.store.get(key);
    const session = raw === null ? null : parseSessionRecord(raw);
    if (session === null) return null;
    await this.deleteKey(key, session);
    return session;
  }

  /** Every key of a session (all generations still stored). */
  async revokeSession(id: string): Promise<number> {
    let count = 0;
    for (const key of await this.store.indexMembers(sessionIndexes.id(id))) {
      const raw = await this.store.get(key);
      const session = raw === null ? null : parseSessionRecord(raw);
      if (session === null) {
        await this.store.removeFromIndex(sessionIndexes.id(id), key);
        continue;
      }
      await this.deleteKey(key, session);
      count += 1;
    }
    return count;
  }

  /** Remove the value and its index entries (an index entry without a value would be harmless, but counts). */
  async deleteKey(key: string, session: SessionRecord): Promise<void> {
    await this.store.delete(key);
    await Promise.all(indexesOf(session).map((index) => this.store.removeFromIndex(index, key)));
  }

  private async rotate(hash: string, session: SessionRecord): Promise<Redeemed> {
    const key = sessionKeys.refresh(hash);
    // take(): of two concurrent uses of one token, exactly one rotates.
    const taken = await this.store.take(key);
    if (taken === null) throw new SessionError('invalid_grant', 'refresh token was already used');
    const ttl = session.expiresAt - this.options.now();
    if (ttl <= 0) throw new SessionError('invalid_grant', 'unknown, expired or revoked refresh token');
    await this.store.put(sessionKeys.rotated(hash), session.id, ttl);
    await Promise.all(indexesOf(session).map((index) => this.store.removeFromIndex(index, key)));
    const next: SessionRecord = { ...session, generation: session.generation + 1 };
    return { session: next, token: await this.write(next) };
  }

  private async write(session: SessionRecord): Promise<string> {
    const value = JSON.stringify(session);
    if (Buffer.byteLength(value) > MAX_RECORD_BYTES) {
      throw new SessionError('too_large', 'the identity has too many claims to keep in a session');
    }
    const ttl = session.expiresAt - this.options.now();
    if (ttl <= 0) throw new SessionError('invalid_grant', 'session lifetime is zero');
    const token = newSecret(REFRESH_TOKEN_PREFIX);
    await this.store.putWithIndexes(sessionKeys.refresh(secretHash(token)), value, ttl, indexesOf(session));
    return token;
  }
}
