import { describe, expect, it } from 'vitest';
import { clientIpResolver } from '../../../src/http/client-ip.js';

describe('client IP from X-Forwarded-For', () => {
  it('without trusted proxies is the socket peer, whatever the header says', () => {
    const ip = clientIpResolver(undefined);
    expect(ip('10.0.0.5', '198.51.100.7')).toBe('10.0.0.5');
    expect(ip('::ffff:10.0.0.5', undefined)).toBe('10.0.0.5');
  });

  it('with one trusted hop is the rightmost entry: a spoofed leftmost entry is ignored', () => {
    const ip = clientIpResolver({ hops: 1 });
    // nginx $proxy_add_x_forwarded_for: the client's own header, then the address nginx saw.
    expect(ip('10.0.0.2', '198.51.100.7, 203.0.113.9')).toBe('203.0.113.9');
    expect(ip('10.0.0.2', '203.0.113.9')).toBe('203.0.113.9');
    expect(ip('10.0.0.2', '1.1.1.1, 2.2.2.2, 203.0.113.9')).toBe('203.0.113.9');
  });

  it('with two hops takes the second from the right, never further', () => {
    const ip = clientIpResolver({ hops: 2 });
    expect(ip('10.0.0.2', '6.6.6.6, 203.0.113.9, 10.0.0.3')).toBe('203.0.113.9');
    // Fewer entries than hops: the leftmost there is.
    expect(ip('10.0.0.2', '203.0.113.9')).toBe('203.0.113.9');
  });

  it('with CIDRs walks left only through proxies in those ranges', () => {
    const ip = clientIpResolver({ cidrs: ['10.0.0.0/8', '127.0.0.1'] });
    expect(ip('127.0.0.1', '6.6.6.6, 203.0.113.9, 10.1.2.3')).toBe('203.0.113.9');
    // The peer itself is not a trusted proxy: the header is the client's own word.
    expect(ip('192.0.2.1', '203.0.113.9, 10.1.2.3')).toBe('192.0.2.1');
    // A client that writes a trusted-looking address still ends up as itself.
    expect(ip('10.0.0.2', '10.9.9.9, 203.0.113.9')).toBe('203.0.113.9');
  });

  it('hops and CIDRs together: both must hold', () => {
    const ip = clientIpResolver({ hops: 1, cidrs: ['10.0.0.0/8'] });
    expect(ip('10.0.0.2', '6.6.6.6, 10.1.1.1')).toBe('10.1.1.1');
    expect(ip('192.0.2.1', '6.6.6.6')).toBe('192.0.2.1');
  });

  it('junk where an address should be stops the walk at the last trusted hop', () => {
    const ip = clientIpResolver({ hops: 2 });
    expect(ip('10.0.0.2', 'not-an-ip, 203.0.113.9')).toBe('203.0.113.9');
    expect(ip('10.0.0.2', '203.0.113.9, <script>')).toBe('10.0.0.2');
    expect(ip('10.0.0.2', '[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(ip('10.0.0.2', '203.0.113.9:5555')).toBe('203.0.113.9');
  });
});
