import { describe, expect, it } from 'vitest';
import { buildAccess, grantActions, mergeScopes, parseScopes } from '../../../src/registry/index.js';

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

describe('buildAccess', () => {
  it('merges duplicate resources, ignores the class and writes type "repository"', () => {
    const scopes = parseScopes(['repository(plugin):a/b:pull', 'repository:a/b:push']);
    expect(mergeScopes(scopes)).toEqual([{ type: 'repository', name: 'a/b', actions: ['pull', 'push'] }]);
    const access = buildAccess(scopes, () => new Set(['pull']));
    expect(access).toEqual([{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
    expect(JSON.stringify(access)).not.toContain('plugin');
  });

  it('keeps an entry with empty actions when nothing is granted', () => {
    expect(buildAccess(parseScopes(['repository:x:push']), () => new Set())).toEqual([{ type: 'repository', name: 'x', actions: [] }]);
  });
});
