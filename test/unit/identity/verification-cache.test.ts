import { describe, expect, it } from 'vitest';
import type { Identity } from '../../../src/identity/types.js';
import { VerificationCache } from '../../../src/identity/verification-cache.js';

const identity = (hash: string): Identity => ({
  issuer: 'https://ci.example.com',
  subject: 's',
  claims: {},
  issuerId: 'ci',
  tokenHash: hash,
  expiresAt: 2_000,
});

/** Admission is on the second verification of a token: set twice to store. */
function store(cache: VerificationCache, hash: string, id: Identity, validUntil: number): void {
  cache.set(hash, id, validUntil);
  cache.set(hash, id, validUntil);
}

describe('VerificationCache', () => {
  it('keeps a token the second time it is verified, not the first', () => {
    const cache = new VerificationCache(10);
    cache.set('h1', identity('h1'), 2_000);
    expect(cache.get('h1', 1)).toBeUndefined();
    expect(cache.size).toBe(0);
    const again = identity('h1');
    cache.set('h1', again, 2_000);
    expect(cache.get('h1', 1)).toBe(again);
  });

  it('notes tokens seen once in a bounded table, where new notes displace old ones', () => {
    const cache = new VerificationCache(2);
    cache.set('a', identity('a'), 5_000);
    for (let i = 0; i < 10_000; i++) cache.set(`seen-once-${i}`, identity('x'), 5_000);
    expect(cache.size).toBe(0);
    // 10,000 notes have gone through the table since: a's note is gone, this is a first sighting again.
    cache.set('a', identity('a'), 5_000);
    expect(cache.get('a', 1)).toBeUndefined();
    cache.set('a', identity('a'), 5_000);
    expect(cache.get('a', 1)).toBeDefined();
  });

  it('returns the stored identity until, and never at or after, validUntil', () => {
    const cache = new VerificationCache(10);
    const id = identity('h1');
    store(cache, 'h1', id, 2_000);
    expect(cache.get('h1', 1_999.9)).toBe(id);
    expect(cache.get('h1', 2_000)).toBeUndefined();
    // An expired entry is dropped, not resurrected by an earlier clock.
    expect(cache.get('h1', 1_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used entry at capacity', () => {
    const cache = new VerificationCache(2);
    store(cache, 'a', identity('a'), 5_000);
    store(cache, 'b', identity('b'), 5_000);
    expect(cache.get('a', 1)).toBeDefined(); // a is now most recent
    store(cache, 'c', identity('c'), 5_000);
    expect(cache.size).toBe(2);
    expect(cache.get('b', 1)).toBeUndefined();
    expect(cache.get('a', 1)).toBeDefined();
    expect(cache.get('c', 1)).toBeDefined();
  });

  it('keeps only the identities its admission accepts', () => {
    const cache = new VerificationCache(10, (id) => id.issuerId !== 'single-use');
    store(cache, 'a', identity('a'), 5_000);
    store(cache, 'b', { ...identity('b'), issuerId: 'single-use' }, 5_000);
    expect(cache.get('a', 1)).toBeDefined();
    expect(cache.get('b', 1)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('refuses a non-positive capacity', () => {
    expect(() => new VerificationCache(0)).toThrow(RangeError);
  });
});
