import { describe, expect, it } from 'vitest';
import { decodeBase64url, MAX_TOKEN_BYTES, parseCompactJws } from '../../../src/identity/jws.js';
import { IdentityError } from '../../../src/identity/types.js';

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const token = (header: unknown, payload: unknown, signature = 'c2ln'): string => `${b64(header)}.${b64(payload)}.${signature}`;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(IdentityError);
    return (error as IdentityError).code;
  }
  return undefined;
}

describe('parseCompactJws', () => {
  it('parses a well-formed token and exposes the signing input', () => {
    const raw = token({ alg: 'RS256', kid: 'k1' }, { iss: 'https://issuer.example', sub: 's' });
    const jws = parseCompactJws(raw);
    expect(jws.alg).toBe('RS256');
    expect(jws.kid).toBe('k1');
    expect(jws.payload).toEqual({ iss: 'https://issuer.example', sub: 's' });
    expect(jws.signingInput.toString()).toBe(raw.slice(0, raw.lastIndexOf('.')));
    expect(jws.signature.toString()).toBe('sig');
  });

  it.each([
    ['two segments', `${b64({ alg: 'RS256' })}.${b64({})}`],
    ['four segments', `${token({ alg: 'RS256' }, {})}.x`],
    ['JWE-like five segments', 'a.b.c.d.e'],
    ['padding', `${b64({ alg: 'RS256' })}=.${b64({})}.c2ln`],
    ['standard base64 characters', `${b64({ alg: 'RS256' })}.${b64({})}.c2+n`],
    ['header not JSON', `${b64('not json')}.${b64({})}.c2ln`],
    ['header an array', token(['RS256'], {})],
    ['header null', token(null, {})],
    ['payload an array', token({ alg: 'RS256' }, [1])],
    ['payload a string', token({ alg: 'RS256' }, '"x"')],
    ['empty signature', `${b64({ alg: 'RS256' })}.${b64({})}.`],
    ['missing alg', token({ kid: 'k' }, {})],
    ['numeric alg', token({ alg: 256 }, {})],
    ['numeric kid', token({ alg: 'RS256', kid: 7 }, {})],
    ['empty token', ''],
  ])('refuses %s as malformed', (_name, raw) => {
    expect(codeOf(() => parseCompactJws(raw))).toBe('malformed');
  });

  it('refuses non-canonical base64url (stray trailing bits)', () => {
    // "c2k" and "c2l" both decode to "si"; only "c2k" leaves the unused trailing bits zero.
    expect(decodeBase64url('c2k', 'x').toString()).toBe('si');
    expect(() => decodeBase64url('c2l', 'x')).toThrow(/canonical/);
  });

  it.each([['none'], ['NONE'], ['HS256'], ['HS512'], ['hs256']])('refuses alg %s as unsupported_alg', (alg) => {
    expect(codeOf(() => parseCompactJws(token({ alg }, { iss: 'x' })))).toBe('unsupported_alg');
  });

  it('refuses crit headers', () => {
    expect(codeOf(() => parseCompactJws(token({ alg: 'RS256', crit: ['exp'], exp: 1 }, {})))).toBe('unsupported_alg');
  });

  it('refuses tokens above the size cap before parsing', () => {
    const big = 'a'.repeat(MAX_TOKEN_BYTES + 1);
    expect(() => parseCompactJws(big)).toThrow(/longer than/);
  });
});
