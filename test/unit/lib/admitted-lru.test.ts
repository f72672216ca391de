import { describe, expect, it } from 'vitest';
import { AdmittedLru } from '../../../src/lib/index.js';

describe('AdmittedLru', () => {
  it('stores a key from its second set on, replaces on later sets, and evicts the least recently used', () => {
    const lru = new AdmittedLru<number>(2);
    lru.set('a', 1);
    expect(lru.get('a')).toBeUndefined();
    lru.set('a', 2);
    expect(lru.get('a')).toBe(2);
    lru.set('a', 3);
    expect(lru.get('a')).toBe(3);
    for (const k of ['b', 'b', 'c', 'c']) lru.set(k, 0);
    expect(lru.size).toBe(2);
    expect(lru.get('a')).toBeUndefined();
  });

  it('forgets entries and notes on clear', () => {
    const lru = new AdmittedLru<number>(4);
    lru.set('a', 1);
    lru.clear();
    lru.set('a', 1);
    expect(lru.get('a')).toBeUndefined();
  });

  it('refuses a non-positive or fractional capacity', () => {
    expect(() => new AdmittedLru(0)).toThrow(RangeError);
    expect(() => new AdmittedLru(1.5)).toThrow(RangeError);
  });
});
