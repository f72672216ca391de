import { describe, expect, it } from 'vitest';
import { ScopeError, isRepositoryName, parseScope, parseScopes } from '../../../src/registry/index.js';

describe('parseScope', () => {
  it('parses a plain repository scope', () => {
    expect(parseScope('repository:team/app:pull,push')).toEqual({ type: 'repository', name: 'team/app', actions: ['pull', 'push'] });
  });

  it('keeps a host:port prefix inside the name (type before the first colon, actions after the last)', () => {
    expect(parseScope('repository:registry.example.com:5000/ns/app:pull')).toEqual({
      type: 'repository',
      name: 'registry.example.com:5000/ns/app',
      actions: ['pull'],
    });
  });

  it('parses the plugin class and keeps the type without it', () => {
    const s = parseScope('repository(plugin):vieux/sshfs:pull');
    expect(s.type).toBe('repository');
    expect(s.class).toBe('plugin');
    expect(s.name).toBe('vieux/sshfs');
  });

  it('accepts the literal * action and the catalog scope', () => {
    expect(parseScope('repository:team/app:*').actions).toEqual(['*']);
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
  });

  it('treats actions as a set and drops empty ones', () => {
    expect(parseScope('repository:a/b:push,,pull,push,').actions).toEqual(['push', 'pull']);
    expect(parseScope('repository:a/b:').actions).toEqual([]);
  });

  it.each([
    ['no colon', 'repository'],
    ['one colon', 'repository:team/app'],
    ['upper-case type', 'Repository:team/app:pull'],
    ['empty name', 'repository::pull'],
    ['upper-case repository path', 'repository:Team/App:pull'],
    ['path traversal', 'repository:team/../app:pull'],
    ['trailing slash', 'repository:team/app/:pull'],
    ['bad action', 'repository:team/app:PULL'],
    ['action with symbols', 'repository:team/app:pull;rm'],
    ['unclosed class', 'repository(plugin:team/app:pull'],
  ])('rejects %s with a ScopeError naming the scope', (_label, raw) => {
    let error: unknown;
    try {
      parseScope(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ScopeError);
    expect((error as ScopeError).code).toBe('invalid_scope');
    expect((error as ScopeError).message).toContain(JSON.stringify(raw));
  });

  it('rejects oversized scopes before parsing them', () => {
    expect(() => parseScope(`repository:${'a'.repeat(600)}:pull`)).toThrow(/longer than/);
  });
});

describe('parseScopes', () => {
  it('splits space-separated values (docker POST) and reads repeated values (c/image)', () => {
    const scopes = parseScopes(['repository:a/b:pull repository:c/d:push', 'registry:catalog:*']);
    expect(scopes.map((s) => s.name)).toEqual(['a/b', 'c/d', 'catalog']);
  });

  it('returns nothing for no scope or an empty string (docker login)', () => {
    expect(parseScopes([])).toEqual([]);
    expect(parseScopes([''])).toEqual([]);
  });

  it('caps the number of scopes per request', () => {
    const many = Array.from({ length: 65 }, (_, i) => `repository:r${i}:pull`);
    expect(() => parseScopes(many)).toThrow(ScopeError);
  });
});

describe('isRepositoryName', () => {
  it.each(['a', 'library/ubuntu', 'team/app-1', 'a_b/c__d/e.f', 'localhost:5000/x', 'my.host/y'])('accepts %s', (n) => {
    expect(isRepositoryName(n)).toBe(true);
  });
  it.each(['', 'A', 'a//b', '/a', 'a/', 'a/..', 'a/-b', 'a/b-', 'a b', 'a/b:tag', 'x'.repeat(256)])('rejects %j', (n) => {
    expect(isRepositoryName(n)).toBe(false);
  });
});
