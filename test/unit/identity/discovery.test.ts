import { describe, expect, it } from 'vitest';
import { discoverJwksUri } from '../../../src/identity/discovery.js';
import { assertFetchableUrl, DEFAULT_FETCH_LIMITS, isLoopbackHost } from '../../../src/identity/fetch-bounded.js';

/** A fetch answering every URL with one discovery document, recording what was asked. */
function fakeFetch(document: Record<string, unknown>): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  const impl = async (input: string | URL | Request): Promise<Response> => {
    urls.push(String(input));
    return new Response(JSON.stringify(document), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { fetch: impl as typeof fetch, urls };
}

describe('isLoopbackHost / assertFetchableUrl', () => {
  it.each(['127.0.0.1', '127.255.0.9', 'localhost', '[::1]', '::1'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['128.0.0.1', '127.0.0.256', '127.0.0.1.evil.com', 'localhost.evil.com', '10.0.0.1', '::2', '0.0.0.0'])(
    '%s is not loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );

  it('allows https anywhere and http only to loopback', () => {
    expect(assertFetchableUrl('https://example.com/x', 'u').hostname).toBe('example.com');
    expect(assertFetchableUrl('http://127.0.0.1:8080/x', 'u').port).toBe('8080');
    expect(() => assertFetchableUrl('http://example.com/x', 'u')).toThrow(/https/);
    expect(() => assertFetchableUrl('file:///etc/passwd', 'u')).toThrow(/https/);
    expect(() => assertFetchableUrl('not a url', 'u')).toThrow(/valid URL/);
  });
});

describe('discoverJwksUri', () => {
  it('returns jwks_uri from the well-known document of the issuer', async () => {
    const { fetch, urls } = fakeFetch({ issuer: 'https://ci.example.com/tenant', jwks_uri: 'https://keys.example.com/jwks' });
    await expect(discoverJwksUri('https://ci.example.com/tenant', fetch, DEFAULT_FETCH_LIMITS)).resolves.toBe(
      'https://keys.example.com/jwks',
    );
    expect(urls).toEqual(['https://ci.example.com/tenant/.well-known/openid-configuration']);
  });

  it('requires the announced issuer to be byte-identical', async () => {
    const { fetch } = fakeFetch({ issuer: 'https://ci.example.com/tenant/', jwks_uri: 'https://ci.example.com/jwks' });
    await expect(discoverJwksUri('https://ci.example.com/tenant', fetch, DEFAULT_FETCH_LIMITS)).rejects.toThrow(/identical|issuer/);
  });

  it('refuses a remote issuer pointing jwks_uri at plain http, even on loopback', async () => {
    const { fetch } = fakeFetch({ issuer: 'https://ci.example.com', jwks_uri: 'http://127.0.0.1:6379/jwks' });
    await expect(discoverJwksUri('https://ci.example.com', fetch, DEFAULT_FETCH_LIMITS)).rejects.toThrow(/non-https/);
  });

  it('never fetches plain http from a remote host', async () => {
    const { fetch, urls } = fakeFetch({ issuer: 'http://ci.example.com', jwks_uri: 'http://ci.example.com/jwks' });
    await expect(discoverJwksUri('http://ci.example.com', fetch, DEFAULT_FETCH_LIMITS)).rejects.toThrow(/https/);
    expect(urls).toEqual([]);
  });

  it('refuses a document without jwks_uri', async () => {
    const { fetch } = fakeFetch({ issuer: 'https://ci.example.com' });
    await expect(discoverJwksUri('https://ci.example.com', fetch, DEFAULT_FETCH_LIMITS)).rejects.toThrow(/jwks_uri/);
  });
});
