/**
 * The only way identity/ talks to the network: GETs with a timeout, a response size cap,
 * no redirects, and plain http only towards loopback hosts.
 */

export type FetchLike = typeof fetch;

export interface FetchLimits {
  /** Whole request, body included. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { timeoutMs: 5_000, maxBytes: 256 * 1024 };

/** True for 127.0.0.0/8, ::1 and localhost, the only hosts that may be reached over plain http. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return /^127\.(?:\d{1,3})\.(?:\d{1,3})\.(?:\d{1,3})$/.test(host) && host.split('.').every((part) => Number(part) <= 255);
}

/** https anywhere; http only for loopback (tests and development). Throws otherwise. */
export function assertFetchableUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${what} is not a valid URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new Error(`${what} must use https (plain http is allowed only for loopback hosts): ${url.origin}`);
}

/**
 * GET `url` and buffer the body, failing when it exceeds the cap or the deadline passes.
 * Returns a fresh Response over the buffered bytes so callers (and openid-client) can parse it.
 */
export async function fetchBounded(
  fetchImpl: FetchLike,
  url: string,
  limits: FetchLimits,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
  const response = await fetchImpl(url, {
    method: 'GET',
    headers: { accept: 'application/json', ...init.headers },
    redirect: 'manual',
    signal,
  });
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limits.maxBytes) {
    await response.body?.cancel();
    throw new Error(`response from ${new URL(url).origin} is larger than ${limits.maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limits.maxBytes) {
        await reader.cancel();
        throw new Error(`response from ${new URL(url).origin} is larger than ${limits.maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  const headers = new Headers();
  const contentType = response.headers.get('content-type');
  if (contentType) headers.set('content-type', contentType);
  // Status 1xx/204/304 cannot carry a body in the Response constructor.
  const body = size > 0 ? Buffer.concat(chunks) : null;
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** GET and parse a JSON object, requiring status 200. */
export async function fetchJsonObject(
  fetchImpl: FetchLike,
  url: string,
  limits: FetchLimits,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const response = await fetchBounded(fetchImpl, url, limits, signal ? { signal } : {});
  if (response.status !== 200) throw new Error(`GET ${url} answered HTTP ${response.status}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await response.text());
  } catch {
    throw new Error(`GET ${url} did not return JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`GET ${url} did not return a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
