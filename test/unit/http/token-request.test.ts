import { describe, expect, it } from 'vitest';
import { isFormBody, parseBasicAuth } from '../../../src/http/token-request.js';
import { HttpError } from '../../../src/http/errors.js';

describe('POST /token media type', () => {
  it('accepts the form type in any case and with parameters', () => {
    for (const t of ['application/x-www-form-urlencoded', 'Application/X-WWW-Form-Urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', ' application/x-www-form-urlencoded ;charset=UTF-8']) {
      expect(isFormBody(t), t).toBe(true);
    }
  });
  it('refuses anything else', () => {
    for (const t of ['', 'application/json', 'application/x-www-form-urlencodedx', 'multipart/form-data', 'text/plain; application/x-www-form-urlencoded']) {
      expect(isFormBody(t), t).toBe(false);
    }
  });
});

describe('Basic credentials', () => {
  const b64 = Buffer.from('oidc:eyJ.a.b').toString('base64');
  it('reads the scheme in any case, one or more spaces, trailing spaces', () => {
    for (const h of [`Basic ${b64}`, `basic ${b64}`, `BASIC   ${b64}`, `Basic ${b64}  `]) {
      expect(parseBasicAuth(h), h).toEqual({ kind: 'password', username: 'oidc', password: 'eyJ.a.b' });
    }
  });
  it('refuses other schemes, a missing space and characters outside base64 with a 401', () => {
    for (const h of [`Bearer ${b64}`, `Basic${b64}`, `Basic ${b64}!`, `Basic ${b64} x`, 'Basicx abc', `Basi ${b64}`]) {
      expect(() => parseBasicAuth(h), h).toThrow(HttpError);
    }
  });
  it('is no credential at all when the header is absent or empty', () => {
    expect(parseBasicAuth(undefined)).toEqual({ kind: 'none' });
    expect(parseBasicAuth('')).toEqual({ kind: 'none' });
  });
});
