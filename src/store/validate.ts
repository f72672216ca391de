import type { SwapInput } from './types.js';
import { StoreError } from './errors.js';

/** Shared argument checks, so memory and Redis refuse exactly the same inputs. */

export const DEFAULT_KEY_PREFIX = 'portcullis:';
export const MAX_KEY_LENGTH = 1024;
export const MAX_VALUE_LENGTH = 65_536;
/** Far above any token lifetime; catches an epoch timestamp passed where a duration belongs. */
export const MAX_TTL_MS = 400 * 24 * 60 * 60 * 1000;
export const DEFAULT_INDEX_LIMIT = 10_000;
export const MAX_INDEX_LIMIT = 100_000;

// No braces: a prefix must never become (or break) a Redis Cluster hash tag.
const PREFIX_PATTERN = /^[A-Za-z0-9:_.-]{1,64}$/;

function invalid(message: string): StoreError {
  return new StoreError('invalid_argument', message);
}

export function checkPrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new StoreError('invalid_config', 'key prefix must be 1..64 characters of [A-Za-z0-9:_.-]');
  }
  return prefix;
}

export function checkKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw invalid(`${what} must be a string of 1..${MAX_KEY_LENGTH} characters`);
  }
  return key;
}

export function checkValue(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_VALUE_LENGTH) {
    throw invalid(`value must be a string of at most ${MAX_VALUE_LENGTH} characters`);
  }
  return value;
}

export function checkTtl(ttlMs: unknown): number {
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
    throw invalid(`ttlMs must be an integer from 1 to ${MAX_TTL_MS} (got ${String(ttlMs)})`);
  }
  return ttlMs;
}

export function checkIndexes(indexes: unknown): readonly string[] {
  if (!Array.isArray(indexes)) throw invalid('indexes must be an array');
  for (const index of indexes) checkKey(index, 'index');
  return indexes as readonly string[];
}

export function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_INDEX_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_INDEX_LIMIT) {
    throw invalid(`limit must be an integer from 1 to ${MAX_INDEX_LIMIT}`);
  }
  return limit;
}

export function checkPositiveInteger(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw invalid(`${what} must be a positive integer`);
  }
  return n;
}

/**
 * `{tag}`: put it in keys that must change together so Redis Cluster stores them
 * in one slot (only the first `{...}` of a key counts).
 */
export function slotTag(tag: string): string {
  if (tag.length === 0 || tag.includes('{') || tag.includes('}')) {
    throw invalid('slot tag must be non-empty and contain no braces');
  }
  return `{${tag}}`;
}

/** The part of a full Redis key that Cluster hashes: the first non-empty `{...}`, else the whole key. */
export function hashedPart(fullKey: string): string {
  const open = fullKey.indexOf('{');
  if (open === -1) return fullKey;
  const close = fullKey.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return fullKey;
  return fullKey.slice(open + 1, close);
}

/** The arguments of `Store.swap`, checked the same way by every backend before anything is touched. */
export function checkSwapInput(input: SwapInput): void {
  for (const k of [input.from, input.tombstone, input.guard, input.to]) checkKey(k);
  checkValue(input.tombstoneValue);
  checkValue(input.value);
  checkTtl(input.ttlMs);
  checkIndexes(input.fromIndexes);
  checkIndexes(input.indexes);
}
