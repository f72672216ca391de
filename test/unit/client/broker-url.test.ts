import { describe, expect, it } from 'vitest';
import { checkEndpoint, normaliseBrokerUrl, registryHost } from '../../../src/client/broker-url.js';

describe('broker URLs', () => {
  it('normalises: https by default, no trailing slash', () => {
    expect(normaliseBrokerUrl('portcullis.example.com/')).toBe('https://portcullis.example.com');
    expect(normaliseBrokerUrl('https://p.example/base/')).toBe('https://p.example/base');
    expect(normaliseBrokerUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
  });
  it('refuses plain http except on loopback, and URLs with credentials or queries', () => {
    expect(() => normaliseBrokerUrl('http://portcullis.example.com')).toThrow(/use https/);
    expect(() => normaliseBrokerUrl('https://u:p@p.example')).toThrow(/no credentials/);
    expect(() => normaliseBrokerUrl('https://p.example/?x=1')).toThrow(/no credentials, query/);
    expect(() => checkEndpoint('token_endpoint', 'http://evil.example/token')).toThrow(/plain http/);
  });
  it('registry hosts from what docker and podman pass', () => {
    expect(registryHost('Registry.Example.com:5000')).toBe('registry.example.com:5000');
    expect(registryHost('https://index.docker.io/v1/')).toBe('index.docker.io');
    expect(registryHost(' 127.0.0.1:5000\n')).toBe('127.0.0.1:5000');
  });
});
