import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Which peers may tell us the client's address through X-Forwarded-For. */
export interface TrustedProxies {
  /** At most this many proxies in front of the broker are believed (absent: no limit by count). */
  readonly hops?: number;
  /** Only proxies whose address lies in one of these ranges are believed (absent or empty: any address). */
  readonly cidrs?: readonly string[];
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** `10.0.0.0/8`, `fd00::/8` or a single address. Throws with the offending value. */
export function parseProxyRange(value: string): Range {
  if (ipaddr.isValidCIDR(value)) {
    const [addr, bits] = ipaddr.parseCIDR(value);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [addr, bits];
  }
  const addr = parseAddress(value);
  if (addr === undefined) throw new Error(`${JSON.stringify(value)} is not an IP address or CIDR range`);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

/** A strictly written IPv4 or IPv6 address (IPv4-mapped IPv6 counts as IPv4), optionally with a port. */
function parseAddress(raw: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  let value = raw.trim();
  // Some load balancers append the port: 203.0.113.7:41234 or [2001:db8::1]:41234.
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed?.[1] !== undefined) value = bracketed[1];
  else if (/^[0-9.]+:\d{1,5}$/.test(value)) value = value.slice(0, value.indexOf(':'));
  if (isIP(value) === 0) return undefined;
  return ipaddr.process(value);
}

/**
 * The client address of a request, from the socket peer and X-Forwarded-For.
 *
 * Proxies (nginx's $proxy_add_x_forwarded_for, cloud load balancers) append the
 * address they received the request from, so only the right end of the header is
 * written by someone we trust; the left end is whatever the client sent. Walking
 * from the socket peer leftwards, each step is taken only while the current hop is a
 * trusted proxy (within `hops` steps and inside `cidrs`); the address reached is the
 * client. Without trusted proxies the socket peer is the client and the header is ignored.
 */
export function clientIpResolver(trusted: TrustedProxies | undefined): (socketAddress: string | undefined, forwardedFor: string | undefined) => string {
  const hops = trusted?.hops;
  const ranges = (trusted?.cidrs ?? []).map(parseProxyRange);
  const enabled = trusted !== undefined && (hops === undefined ? ranges.length > 0 : hops > 0);
  const inRanges = (addr: ipaddr.IPv4 | ipaddr.IPv6): boolean =>
    ranges.length === 0 || ranges.some((r) => r[0].kind() === addr.kind() && addr.match(r));

  return (socketAddress, forwardedFor) => {
    const peer = socketAddress === undefined ? undefined : parseAddress(socketAddress);
    if (peer === undefined) return socketAddress ?? '';
    if (!enabled || forwardedFor === undefined || forwardedFor === '') return peer.toString();
    const entries = forwardedFor.split(',');
    let client = peer;
    let steps = 0;
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      if ((hops !== undefined && steps >= hops) || !inRanges(client)) break;
      const next = parseAddress(entries[i] as string);
      // Junk where an address should be: keep the last hop that was written by a trusted proxy.
      if (next === undefined) break;
      client = next;
      steps += 1;
    }
    return client.toString();
  };
}
