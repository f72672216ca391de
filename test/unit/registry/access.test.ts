import { describe, expect, it } from 'vitest';
import { grantActions, missingActions, mergeScopes, parseScopes } from '../../../src/registry/index.js';

describe('grantActions', () => {
  it('intersects explicit requests with explicit grants (partial grant)', () => {
    expect(grantActions(['push', 'pull'], new Set(['pull']))).toEqual(['pull']);
    expect(grantActions(['push'], new Set())).toEqual([]);
  });

  it('answers * with * when everything is granted', () => {
    expect(grantActions(['*'], new Set(['*']))).toEqual(['*']);
  });

  it('answers * with the explicit granted set, never an empty literal intersection (P21)', () => {
    expect(grantActions(['*'], new Set(['pull', 'push', 'delete']))).toEqual(['delete', 'pull', 'push']);
  });

  it('answers explicit requests under a * grant with exactly what was requested', () => {
    expect(grantActions(['pull', 'push'], new Set(['*']))).toEqual(['pull', 'push']);
  });
});

describe('missingActions', () => {
  it('lists requested actions the grant lacks; a granted * lacks nothing', () => {
    expect(missingActions(['pull', 'push'], ['pull'])).toEqual(['push']);
    expect(missingActions(['pull', 'push'], ['*'])).toEqual([]);
  });

  it('a requested * is missing only when nothing was granted', () => {
    expect(missingActions(['*'], ['pull'])).toEqual([]);
    expect(missingActions(['*'], [])).toEqual(['*']);
  });
});

describe('mergeScopes', () => {
  it('merges duplicate resources, ignores the class and writes type "repository"', () => {
    const scopes = parseScopes(['repository(plugin):a/b:pull', 'repository:a/b:push']);
    const merged = mergeScopes(scopes);
    expect(merged).toEqual([{ type: 'repository', name: 'a/b', actions: ['pull', 'push'] }]);
    expect(JSON.stringify(merged)).not.toContain('plugin');
  });
});
