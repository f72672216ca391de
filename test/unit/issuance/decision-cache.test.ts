import { describe, expect, it } from 'vitest';
import { DecisionCache } from '../../../src/issuance/index.js';
import type { Policy } from '../../../src/policy/index.js';

const policy = (version: string): Policy => ({ version, evaluate: () => ({ access: [], matchedRules: [] }) });
const entry = (name: string) => ({ decision: { access: [{ type: 'repository', name, actions: ['pull'] }], matchedRules: ['r'] }, granted: [`repository:${name}:pull`], denied: [] });

describe('DecisionCache', () => {
  it('keys by token hash, service, client address and every scope', () => {
    const keys = new Set([
      DecisionCache.key('h1', 'reg', ['repository:a:pull'], '10.0.0.1'),
      DecisionCache.key('h2', 'reg', ['repository:a:pull'], '10.0.0.1'),
      DecisionCache.key('h1', 'other', ['repository:a:pull'], '10.0.0.1'),
      DecisionCache.key('h1', 'reg', ['repository:a:pull', 'repository:b:pull'], '10.0.0.1'),
      DecisionCache.key('h1', 'reg', ['repository:a:pull'], '10.0.0.2'),
      DecisionCache.key('h1', 'reg', ['repository:a:pull'], undefined),
    ]);
    expect(keys.size).toBe(6);
  });

  /** Admission is on the second sighting: set twice to store. */
  const store = (cache: DecisionCache, p: Policy, key: string): void => {
    cache.set(p, key, entry(key));
    cache.set(p, key, entry(key));
  };

  it('stores a key the second time it is set, not the first', () => {
    const p = policy('1');
    const cache = new DecisionCache();
    cache.set(p, 'a', entry('a'));
    expect(cache.get(p, 'a')).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set(p, 'a', entry('a'));
    expect(cache.get(p, 'a')?.granted).toEqual(['repository:a:pull']);
  });

  it('holds at most maxEntries, evicting the least recently used', () => {
    const p = policy('1');
    const cache = new DecisionCache(2);
    store(cache, p, 'a');
    store(cache, p, 'b');
    expect(cache.get(p, 'a')).toBeDefined();
    store(cache, p, 'c');
    expect(cache.size).toBe(2);
    expect(cache.get(p, 'b')).toBeUndefined();
    expect(cache.get(p, 'a')?.granted).toEqual(['repository:a:pull']);
  });

  it('answers only for the policy it was filled under, and starts over for a new one', () => {
    const [p1, p2] = [policy('1'), policy('2')];
    const cache = new DecisionCache();
    store(cache, p1, 'a');
    expect(cache.get(p1, 'a')).toBeDefined();
    expect(cache.get(p2, 'a')).toBeUndefined();
    store(cache, p2, 'b');
    expect(cache.get(p1, 'a')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('hands out frozen decisions: no request can change what the next one gets', () => {
    const p = policy('1');
    const cache = new DecisionCache();
    store(cache, p, 'a');
    const hit = cache.get(p, 'a');
    expect(() => (hit?.decision.access[0]?.actions as string[]).push('push')).toThrow(TypeError);
  });
});
