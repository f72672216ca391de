import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../../src/store/deadlines.js';

const never = new Promise<never>(() => {});

describe('Deadlines', () => {
  it('passes on the value or the error of an operation that settles in time, and forgets it', async () => {
    const d = new Deadlines(5);
    await expect(d.race(Promise.resolve(42), 1000, () => new Error('late'))).resolves.toBe(42);
    await expect(d.race(Promise.reject(new Error('boom')), 1000, () => new Error('late'))).rejects.toThrow('boom');
    expect(d.size).toBe(0);
  });

  it('rejects an operation that hangs once its time is up, within a tick', async () => {
    const d = new Deadlines(5);
    const started = performance.now();
    await expect(d.race(never, 30, () => new Error('redis did not answer'))).rejects.toThrow('redis did not answer');
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(29);
    expect(took).toBeLessThan(500);
    expect(d.size).toBe(0);
  });

  it('expires only the overdue ones among many', async () => {
    const d = new Deadlines(5);
    const slow = d.race(never, 20, () => new Error('slow'));
    let settle: (v: string) => void = () => {};
    const fast = d.race(new Promise<string>((r) => (settle = r)), 10_000, () => new Error('fast'));
    await expect(slow).rejects.toThrow('slow');
    settle('ok');
    await expect(fast).resolves.toBe('ok');
  });
});
