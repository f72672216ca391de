import { describe, expect, it } from 'vitest';
import { StoreError, slotTag } from '../../../src/store/index.js';
import { hashedPart } from '../../../src/store/validate.js';

describe('Cluster hash tags', () => {
  it('slotTag wraps a tag in braces and refuses braces or empty tags', () => {
    expect(slotTag('alice')).toBe('{alice}');
    expect(() => slotTag('')).toThrow(StoreError);
    expect(() => slotTag('a}b')).toThrow(StoreError);
    expect(() => slotTag('{a')).toThrow(StoreError);
  });

  it('hashedPart follows Redis: the first non-empty {...}, else the whole key', () => {
    expect(hashedPart('portcullis:v:{alice}rt:1')).toBe('alice');
    expect(hashedPart('portcullis:i:{alice}tokens')).toBe('alice');
    expect(hashedPart('portcullis:v:plain')).toBe('portcullis:v:plain');
    expect(hashedPart('p:{}x{y}')).toBe('p:{}x{y}');
    expect(hashedPart('p:{a}{b}')).toBe('a');
    expect(hashedPart('p:{open')).toBe('p:{open');
  });
});
