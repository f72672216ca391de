import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;
export type IpRange = [IpAddress, number];

/**
 * A strictly written IPv4 or IPv6 address, optionally with a port
 * (`203.0.113.7:41234`, `[2001:db8::1]:443`). IPv4-mapped IPv6 counts as IPv4.
 * Undefined for anything else (ipaddr.js alone would also take `0x7f.1`).
 */
export function parseIpAddress(raw: string): IpAddress | undefined {
  let value = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed?.[1] !== undefined) value = bracketed[1];
  else if (/^[0-9.]+:\d{1,5}$/.test(value)) value = value.slice(0, value.indexOf(':'));
  if (isIP(value) === 0) return undefined;
  return ipaddr.process(value);
}

/** `10.0.0.0/8`, `fd00::/8` or a single address. Throws with the offending value. */
export function parseIpRange(value: string): IpRange {
  if (ipaddr.isValidCIDR(value)) {
    const [addr, bits] = ipaddr.parseCIDR(value);
    // A mapped IPv6 range such as ::ffff:10.0.0.0/104 is kept as its IPv4 equivalent.
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [addr, bits];
  }
  const addr = parseIpAddress(value);
  if (addr === undefined) throw new Error(`${JSON.stringify(value)} is not an IP address or CIDR range`);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

export function inIpRange(addr: IpAddress, range: IpRange): boolean {
  return range[0].kind() === addr.kind() && addr.match(range);
}
