import { inIpRange, parseIpAddress, parseIpRange, type IpAddress } from '../lib/index.js';

const MAX_REMEMBERED_PEERS = 1024;

/** Which peers may tell us the client's address through X-Forwarded-For. */
export interface TrustedProxies {
  /** At most this many proxies in front of the broker are believed (absent: no limit by count). */
  readonly hops?: number;
  /** Only proxies whose address lies in one of these ranges are believed (absent or empty: any address). */
  readonly cidrs?: readonly string[];
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
  const ranges = (trusted?.cidrs ?? []).map(parseIpRange);
  const enabled = trusted !== undefined && (hops === undefined ? ranges.length > 0 : hops > 0);
  const inRanges = (addr: IpAddress): boolean => ranges.length === 0 || ranges.some((r) => inIpRange(addr, r));

  // Peers are few and come back on every request of a keep-alive connection: their normal
  // form is remembered rather than parsed again (a bounded map, emptied when full).
  const peers = new Map<string, string>();
  const peerForm = (address: string, peer: IpAddress): string => {
    if (peers.size >= MAX_REMEMBERED_PEERS) peers.clear();
    const text = peer.toString();
    peers.set(address, text);
    return text;
  };

  return (socketAddress, forwardedFor) => {
    const direct = !enabled || forwardedFor === undefined || forwardedFor === '';
    if (direct && socketAddress !== undefined) {
      const known = peers.get(socketAddress);
      if (known !== undefined) return known;
    }
    const peer = socketAddress === undefined ? undefined : parseIpAddress(socketAddress);
    if (peer === undefined) return socketAddress ?? '';
    if (direct) return peerForm(socketAddress as string, peer);
    const entries = forwardedFor.split(',');
    let client = peer;
    let steps = 0;
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      if ((hops !== undefined && steps >= hops) || !inRanges(client)) break;
      const next = parseIpAddress(entries[i] as string);
      // Junk where an address should be: keep the last hop that was written by a trusted proxy.
      if (next === undefined) break;
      client = next;
      steps += 1;
    }
    return client.toString();
  };
}
