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

  it('keeps least-recently-used order when the newest entry is read again and again', () => {
    const lru = new AdmittedLru<number>(2);
    for (const k of ['a', 'a', 'b', 'b']) lru.set(k, 0);
    expect(lru.get('b')).toBe(0);
    expect(lru.get('b')).toBe(0);
    expect(lru.get('a')).toBe(0); // now a is the newest, b the oldest
    expect(lru.get('a')).toBe(0);
    for (const k of ['c', 'c']) lru.set(k, 1);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(0);
    lru.delete('a');
    for (const k of ['d', 'd']) lru.set(k, 2);
    expect([lru.get('c'), lru.get('d'), lru.size]).toEqual([1, 2, 2]);
    // c was read after d was stored: d is the oldest now.
    lru.get('c');
    for (const k of ['e', 'e']) lru.set(k, 3);
    expect([lru.get('d'), lru.get('c'), lru.get('e')]).toEqual([undefined, 1, 3]);
  });

  it('forgets entries and notes on clear', () => {
    const lru = new AdmittedLru<number>(4);
    lru.set('a', 1);
    lru.clear();
    lru.set('a', 1);
    expect(lru.get('a')).toBeUndefined();
  });

  it('keeps nothing for keys set once, however many, and still admits a recent key on its second set', () => {
    const lru = new AdmittedLru<number>(10_000);
    // A fleet of fresh tokens, each presented once: only notes, in a table of fixed size.
    for (let i = 0; i < 200_000; i++) lru.set(`token-${i}\nregistry\n127.0.0.1\nrepository:org/app-${i}:pull,push`, i);
    expect(lru.size).toBe(0);
    const recent = 'token-199999\nregistry\n127.0.0.1\nrepository:org/app-199999:pull,push';
    lru.set(recent, 1);
    expect(lru.get(recent)).toBe(1);
  });

  it('refuses a non-positive or fractional capacity', () => {
    expect(() => new AdmittedLru(0)).toThrow(RangeError);
    expect(() => new AdmittedLru(1.5)).toThrow(RangeError);
  });
});
