/**
 * A paced request burst that counts how every request ended, for shutdown tests and the soak:
 * answered (any HTTP status), refused (ECONNREFUSED: the listener was closed, nothing was
 * accepted) or reset (the connection was accepted and then dropped without an answer: the
 * failure a graceful shutdown must never produce). Part of the requests use keep-alive
 * connections, the rest a new connection each.
 *
 * `followReadiness` makes it behave like a load balancer: it polls /readyz and, `reactionMs` after
 * the broker says it is not ready (or refuses connections), stops sending and takes back the
 * requests still queued without a connection (counted as rerouted).
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface BurstRequest {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface BurstOptions {
  /** Requests per second. */
  readonly rate: number;
  /** Share of requests sent on keep-alive connections (0..1). */
  readonly keepAliveShare: number;
  /** Keep-alive connections at most. */
  readonly connections?: number;
  readonly followReadiness?: { pollMs: number; reactionMs: number };
}

export interface BurstResult {
  sent: number;
  answered: number;
  byStatus: Record<string, number>;
  refused: number;
  /**
   * Requests still queued in the client (no connection yet) when it stopped routing to this
   * server after /readyz said not ready; a load balancer sends those to another replica.
   */
  rerouted: number;
  reset: number;
  /** Resets by how the request travelled: keep-alive (reused socket or not) or a connection of its own. */
  resetBy: Record<string, number>;
  /** Other transport errors, by code. */
  otherErrors: Record<string, number>;
  /** Responses that told a keep-alive client to close the connection. */
  connectionClose: number;
  /** ms since the burst started when /readyz first said "not ready" (followReadiness only). */
  notReadyAt?: number;
  /** Latencies of answered requests, ms. */
  latencies: number[];
}

export interface Burst {
  /** Stops sending, waits for every outstanding request to end, and reports. */
  stop(): Promise<BurstResult>;
  readonly result: BurstResult;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export function startBurst(base: string, next: () => BurstRequest, o: BurstOptions): Burst {
  const { hostname, port } = new URL(base);
  const keepAlive = new Agent({ keepAlive: true, maxSockets: o.connections ?? 32 });
  const result: BurstResult = { sent: 0, answered: 0, byStatus: {}, refused: 0, rerouted: 0, reset: 0, resetBy: {}, otherErrors: {}, connectionClose: 0, latencies: [] };
  const t0 = performance.now();
  let outstanding = 0;
  let sending = true;
  let fired = 0;
  let onIdle: (() => void) | undefined;
  /** Requests not yet given a socket, and how to take them back. */
  const queued = new Map<object, () => void>();

  const settle = (): void => {
    outstanding -= 1;
    if (outstanding === 0) onIdle?.();
  };

  const fire = (): void => {
    const r = next();
    fired += 1;
    const useKeepAlive = (fired % 100) / 100 < o.keepAliveShare;
    outstanding += 1;
    result.sent += 1;
    const started = performance.now();
    let done = false;
    const req = request(
      {
        hostname,
        port,
        method: r.method ?? 'GET',
        path: r.path,
        headers: { ...r.headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) },
        agent: useKeepAlive ? keepAlive : false,
      },
      (res) => {
        const headers: IncomingHttpHeaders = res.headers;
        res.resume();
        res.once('end', () => {
          if (done) return;
          done = true;
          result.answered += 1;
          result.latencies.push(performance.now() - started);
          const key = String(res.statusCode);
          result.byStatus[key] = (result.byStatus[key] ?? 0) + 1;
          if (useKeepAlive && headers.connection === 'close') result.connectionClose += 1;
          settle();
        });
        res.once('error', () => {
          if (done) return;
          done = true;
          result.reset += 1;
          result.resetBy['mid-response'] = (result.resetBy['mid-response'] ?? 0) + 1;
          settle();
        });
      },
    );
    const token = {};
    queued.set(token, () => {
      if (done) return;
      done = true;
      result.rerouted += 1;
      req.destroy();
      settle();
    });
    req.once('socket', () => queued.delete(token));
    req.once('error', (err: NodeJS.ErrnoException) => {
      queued.delete(token);
      if (done) return;
      done = true;
      const code = err.code ?? err.message;
      if (code === 'ECONNREFUSED') result.refused += 1;
      else if (RESET_CODES.has(code) || /socket hang up/.test(err.message)) {
        result.reset += 1;
        const how = useKeepAlive ? (req.reusedSocket ? 'keepalive-reused' : 'keepalive-new') : 'own-connection';
        result.resetBy[how] = (result.resetBy[how] ?? 0) + 1;
      }
      else result.otherErrors[code] = (result.otherErrors[code] ?? 0) + 1;
      settle();
    });
    req.end(r.body);
  };

  let due = 0;
  const tick = setInterval(() => {
    if (!sending) return;
    const target = Math.floor(((performance.now() - t0) / 1000) * o.rate);
    while (due < target) {
      due += 1;
      fire();
    }
  }, 2);

  let poll: NodeJS.Timeout | undefined;
  if (o.followReadiness) {
    const { pollMs, reactionMs } = o.followReadiness;
    const probe = new Agent({ keepAlive: false });
    poll = setInterval(() => {
      const req = request({ hostname, port, path: '/readyz', agent: probe }, (res) => {
        res.resume();
        if (res.statusCode !== 200) notReady();
      });
      req.once('error', () => notReady());
      req.end();
    }, pollMs);
    const notReady = (): void => {
      if (result.notReadyAt !== undefined) return;
      result.notReadyAt = performance.now() - t0;
      clearInterval(poll);
      setTimeout(() => {
        sending = false;
        for (const takeBack of [...queued.values()]) takeBack();
      }, reactionMs);
    };
  }

  return {
    result,
    async stop() {
      sending = false;
      clearInterval(tick);
      clearInterval(poll);
      if (outstanding > 0) await new Promise<void>((resolve) => (onIdle = resolve));
      keepAlive.destroy();
      return result;
    },
  };
}

/** p-th percentile (0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
