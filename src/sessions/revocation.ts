import type { Store } from '../store/index.js';
import { sessionIndexes, sessionKeys } from './keys.js';
import { parseSessionRecord, summarize } from './record.js';
import type { RefreshTokens } from './refresh-tokens.js';
import { isWellFormedSecret, REFRESH_TOKEN_PREFIX, secretHash } from './secrets.js';
import type { SessionFilter, SessionRecord, SessionSummary } from './types.js';

const PAGE = 10_000;

function hasCriterion(filter: SessionFilter): boolean {
  return [filter.id, filter.subject, filter.issuer, filter.rule, filter.token].some((v) => v !== undefined && v !== '') || filter.all === true;
}

/** The most selective index for a filter; the rest of the filter is applied to each record. */
function indexFor(filter: SessionFilter): string {
  if (filter.id) return sessionIndexes.id(filter.id);
  if (filter.subject) return sessionIndexes.subject(filter.subject);
  if (filter.rule) return sessionIndexes.rule(filter.rule);
  // The issuer index is keyed by URL; a configured issuer id has to scan.
  if (filter.issuer && filter.issuer.includes('://')) return sessionIndexes.issuer(filter.issuer);
  return sessionIndexes.all;
}

function matches(record: SessionRecord, filter: SessionFilter): boolean {
  if (filter.id && record.id !== filter.id) return false;
  if (filter.subject && record.subject !== filter.subject) return false;
  // An issuer filter takes the URL or the configured issuer id.
  if (filter.issuer && record.issuer !== filter.issuer && record.issuerId !== filter.issuer) return false;
  if (filter.rule && !record.rules.includes(filter.rule)) return false;
  return true;
}

/** Listing and revoking sessions by subject, issuer, rule, session id or token. */
export class SessionDirectory {
  constructor(
    private readonly store: Store,
    private readonly tokens: RefreshTokens,
  ) {}

  /** Distinct sessions (one line per session id, latest generation), at most `limit`. */
  async list(filter: SessionFilter, limit = 1000): Promise<SessionSummary[]> {
    const found = new Map<string, SessionRecord>();
    for (const [, record] of await this.find(filter)) {
      const seen = found.get(record.id);
      if (!seen || seen.generation < record.generation) found.set(record.id, record);
      if (found.size >= limit) break;
    }
    return [...found.values()].map(summarize);
  }

  /** Deletes every matching session; returns how many sessions ended. */
  async revoke(filter: SessionFilter): Promise<number> {
    const ended = new Set<string>();
    // Each pass deletes what it found, so the next pass sees the rest (indexes return at most PAGE members).
    for (;;) {
      const batch = await this.find(filter);
      if (batch.length === 0) break;
      for (const [key, record] of batch) {
        await this.tokens.deleteKey(key, record);
        ended.add(record.id);
      }
      if (filter.token !== undefined) break;
    }
    return ended.size;
  }

  private async find(filter: SessionFilter): Promise<[string, SessionRecord][]> {
    if (!hasCriterion(filter)) return [];
    if (filter.token !== undefined) {
      if (!isWellFormedSecret(REFRESH_TOKEN_PREFIX, filter.token)) return [];
      const key = sessionKeys.refresh(secretHash(filter.token));
      const raw = await this.store.get(key);
      const record = raw === null ? null : parseSessionRecord(raw);
      return record !== null && matches(record, filter) ? [[key, record]] : [];
    }
    const index = indexFor(filter);
    const out: [string, SessionRecord][] = [];
    for (const key of await this.store.indexMembers(index, PAGE)) {
      const raw = await this.store.get(key);
      const record = raw === null ? null : parseSessionRecord(raw);
      if (record === null) {
        // Stale member (value expired or deleted elsewhere): drop it so revoke loops terminate.
        await this.store.removeFromIndex(index, key);
        continue;
      }
      if (matches(record, filter)) out.push([key, record]);
    }
    return out;
  }
}
