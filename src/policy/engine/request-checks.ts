import ipaddr from 'ipaddr.js';
import type { Check } from './context.js';

/** Checks on the request itself rather than on the identity's claims. */

export function serviceCheck(services: readonly string[]): Check {
  const set = new Set(services);
  return { label: `service in ${JSON.stringify([...set])}`, test: (ctx) => set.has(ctx.service) };
}

/**
 * Client IP in one of the CIDR ranges. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`, as Node reports them on dual-stack sockets) count as IPv4.
 * No client IP, or one that does not parse, fails the check.
 */
export function clientIpCheck(cidrs: readonly string[]): Check {
  const ranges = cidrs.map(parseRange);
  return {
    label: `clientIp in ${JSON.stringify(cidrs)}`,
    test: (ctx) => {
      if (ctx.clientIp === undefined || !ipaddr.isValid(ctx.clientIp)) return false;
      const addr = ipaddr.process(ctx.clientIp);
      return ranges.some((r) => r[0].kind() === addr.kind() && addr.match(r));
    },
  };
}

function parseRange(cidr: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (ipaddr.isValidCIDR(cidr)) {
    const [addr, bits] = ipaddr.parseCIDR(cidr);
    // A mapped IPv6 range such as ::ffff:10.0.0.0/104 is stored as its IPv4 equivalent.
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [addr, bits];
  }
  if (ipaddr.isValid(cidr)) {
    const addr = ipaddr.process(cidr);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  }
  throw new Error(`${JSON.stringify(cidr)} is not an IP address or CIDR range`);
}
