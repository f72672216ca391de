import { describe, expect, it } from 'vitest';
import { DiscoveryBudget } from '../../../src/identity/discovery-budget.js';

describe('DiscoveryBudget', () => {
  const budget = (): DiscoveryBudget => new DiscoveryBudget({ windowMs: 30_000, perEntry: 5, perClient: 2 });

  it('gives one client its share only, and a refused client spends nothing', () => {
    const b = budget();
    expect([1, 2, 3, 4].map(() => b.take('eks', 'mallory', 0))).toEqual([true, true, false, false]);
    expect([1, 2, 3].map((i) => b.take('eks', `c${i}`, 0))).toEqual([true, true, true]);
    expect(b.take('eks', 'late', 0)).toBe(false); // the entry's 5 are spent
  });

  it('keeps entries apart and renews every share when the window ends', () => {
    const b = budget();
    b.take('eks', 'mallory', 0);
    b.take('eks', 'mallory', 0);
    expect(b.take('eks', 'mallory', 29_999)).toBe(false);
    expect(b.take('aks', 'mallory', 29_999)).toBe(true);
    expect(b.take('eks', 'mallory', 30_000)).toBe(true);
  });

  it('applies only the entry-wide bound to callers without a client', () => {
    const b = budget();
    expect([1, 2, 3, 4, 5, 6].map(() => b.take('eks', undefined, 0))).toEqual([true, true, true, true, true, false]);
  });
});
