import { describe, expect, it } from 'vitest';
import { isValidHost, originForm } from '../../../src/http/request-target.js';

describe('Host header syntax', () => {
  it('accepts names, IPv4, bracketed IPv6, ports up to 65535, and no Host at all', () => {
    for (const host of [undefined, '', 'localhost', 'registry.example.com', 'my_broker:5001', '127.0.0.1:65535', '[::1]', '[2001:db8::1]:443', 'example.com.']) {
      expect(isValidHost(host), String(host)).toBe(true);
    }
  });

  it('refuses what no URL parser should be given', () => {
    for (const host of ['[', ']', '[::1', '127.0.0.1:99999', '127.0.0.1:abc', 'a b', '%', '<', 'x?scope=a#', 'x/y', 'user@host', '[::g]', 'host:', ':80', '[fe80::1%eth0]']) {
      expect(isValidHost(host), host).toBe(false);
    }
  });
});

describe('request target', () => {
  it('keeps origin form and reduces a well-formed absolute form to its path and query', () => {
    expect(originForm('/token?service=r&scope=a')).toBe('/token?service=r&scope=a');
    expect(originForm('/token?x=1#frag')).toBe('/token?x=1');
    expect(originForm('http://broker.example:5001/token?service=r')).toBe('/token?service=r');
    expect(originForm('HTTPS://broker.example/token')).toBe('/token');
  });

  it('refuses anything else', () => {
    for (const target of [undefined, '', '*', 'token', '//evil/token', 'http://[/token', 'https://%/x', 'ftp://h/token', 'http:/token']) {
      expect(originForm(target), String(target)).toBeUndefined();
    }
  });
});
