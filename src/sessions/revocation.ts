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

function matches(record: Pick<SessionRecord, 'id' | 'issuer' | 'issuerId' | 'subject' | 'rules'>, filter: SessionFilter): boolean {
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
    for (const [, record] of (await this.find(filter)).records) {
      const seen = found.get(record.id);
      if (!seen || seen.generation < record.generation) found.set(record.id, record);
      if (found.size >= limit) break;
    }
    return [...found.values()].map(summarize);
  }

  /**
   * Ends every matching session; returns how many. Each session is ended through its
   * revocation marker (RefreshTokens.revokeSession), so a refresh racing this call
   * cannot leave a new token behind. A listed token whose value is gone because it
   * was just rotated is followed to its session through its tombstone.
   */
  async revoke(filter: SessionFilter): Promise<number> {
    const ended = new Set<string>();
    // Each pass deletes what it found, so the next pass sees the rest (indexes return at most PAGE members).
    for (;;) {
      const { records, families } = await this.find(filter, true);
      if (records.length === 0 && families.length === 0) break;
      for (const [key, record] of records) {
        if (ended.has(record.id)) {
          // Indexed here but not under its session id: delete it directly so the loop ends.
          await this.tokens.deleteKey(key, record);
          continue;
        }
        ended.add(record.id);
        await this.tokens.revokeSession(record.id);
      }
      for (const id of families) {
        if (ended.has(id)) continue;
        // Always ended and counted: mid-rotation its new token may not be readable yet,
        // and the marker is what stops it. (A tombstone can outlive its session, so
        // revoking an old rotated token of an ended session counts it once more.)
        ended.add(id);
        await this.tokens.revokeSession(id);
      }
      if (filter.token !== undefined) break;
    }
    return ended.size;
  }

  private async find(filter: SessionFilter, followRotated = false): Promise<{ records: [string, SessionRecord][]; families: string[] }> {
    const records: [string, SessionRecord][] = [];
    const families: string[] = [];
    if (!hasCriterion(filter)) return { records, families };
    const follow = async (key: string): Promise<void> => {
      const family = followRotated ? await this.tokens.familyOf(key) : null;
      if (family === null) return;
      // A tombstone from an earlier version holds the id alone: find the live record to match against.
      const legacy = family.issuer === '';
      if (legacy ? await this.familyMatches(family.id, filter) : matches(family, filter)) families.push(family.id);
    };
    if (filter.token !== undefined) {
      if (!isWellFormedSecret(REFRESH_TOKEN_PREFIX, filter.token)) return { records, families };
      const key = sessionKeys.refresh(secretHash(filter.token));
      const raw = await this.store.get(key);
      const record = raw === null ? null : parseSessionRecord(raw);
      if (record === null) await follow(key);
      else if (matches(record, filter)) records.push([key, record]);
      return { records, families };
    }
    const index = indexFor(filter);
    for (const key of await this.store.indexMembers(index, PAGE)) {
      const raw = await this.store.get(key);
      const record = raw === null ? null : parseSessionRecord(raw);
      if (record === null) {
        // Stale member (value expired, deleted or rotated away): drop it so revoke loops terminate.
        await this.store.removeFromIndex(index, key);
        await follow(key);
        continue;
      }
      if (matches(record, filter)) records.push([key, record]);
    }
    return { records, families };
  }

  /** Does a live token of session `id` match the filter? */
  private async familyMatches(id: string, filter: SessionFilter): Promise<boolean> {
    for (const key of await this.store.indexMembers(sessionIndexes.id(id))) {
      const raw = await this.store.get(key);
      const record = raw === null ? null : parseSessionRecord(raw);
      if (record !== null && matches(record, { ...filter, token: undefined })) return true;
    }
    return false;
  }
}
