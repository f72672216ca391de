import { describe, expect, it } from 'vitest';

describe('randomId', () => {
  it('returns distinct base64url ids of the requested size across pool refills', async () => {
    const { randomId } = await import('../../../src/lib/index.js');
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const id = randomId(16);
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(3000);
    expect(Buffer.from(randomId(100), 'base64url').length).toBe(100);
  });
});
