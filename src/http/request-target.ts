import { isIPv6 } from 'node:net';
import type { Context, Next } from 'koa';
import { badRequest } from './errors.js';

// RFC 3986 host: a registered name (unreserved characters; no percent-encoding needed for ours),
// an IPv4 address or a bracketed IPv6 literal, then an optional port.
const HOST = /^(?:[A-Za-z0-9._~-]+|\[([0-9A-Fa-f:.]+)\])(?::(\d{1,5}))?$/;

/** Is `host` (a Host header value) well formed? An empty or missing Host is allowed (HTTP/1.0). */
export function isValidHost(host: string | undefined): boolean {
  if (host === undefined || host === '') return true;
  const m = HOST.exec(host);
  if (m === null) return false;
  if (m[1] !== undefined && !isIPv6(m[1])) return false;
  return m[2] === undefined || Number(m[2]) <= 65_535;
}

/**
 * The request target in origin form (`/path?query`), or undefined when it is not a
 * usable target. Absolute form (`http://host/path?query`, what proxies send) is
 * reduced to its path and query; anything else (`*`, junk, an unparsable URL) is refused.
 */
export function originForm(target: string | undefined): string | undefined {
  if (target === undefined || target === '') return undefined;
  const hash = target.indexOf('#');
  const t = hash < 0 ? target : target.slice(0, hash);
  if (t.startsWith('/')) return t.startsWith('//') ? undefined : t;
  if (!/^https?:\/\//i.test(t)) return undefined;
  try {
    const url = new URL(t);
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

/**
 * Query parameters of the request, read from the request target only. Koa's
 * ctx.URL and ctx.query build a URL from the Host header, which a client can fill
 * with `x?scope=…#` and so add parameters no proxy or WAF ever saw in the query.
 */
export function queryOf(ctx: Context): URLSearchParams {
  return queryOfTarget(ctx.req.url ?? '');
}

/** Query parameters of an origin-form request target (`/path?query`). */
export function queryOfTarget(target: string): URLSearchParams {
  const q = target.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
}

/**
 * First middleware after the error handler: an unparsable Host or request target is a
 * 400 in the registry format before anything reads them, and the target is reduced to
 * origin form so routing and parameter parsing never see the Host header.
 */
export function requestTargetGuard() {
  return async (ctx: Context, next: Next): Promise<void> => {
    const host = ctx.req.headers.host;
    if (!isValidHost(host)) throw badRequest('malformed Host header');
    const target = originForm(ctx.req.url);
    if (target === undefined) throw badRequest('malformed request target');
    ctx.req.url = target;
    await next();
  };
}
