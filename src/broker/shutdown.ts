import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** No new connection for this long means the listen backlog is empty and nobody is still sending. */
const QUIET_MS = 250;

export interface ShutdownPlan {
  /** Time between readiness turning false and the listener closing, ms. */
  readonly drainDelayMs: number;
  /** Time by which the server must be closed, ms since the epoch; connections still open then are cut. */
  readonly deadline: number;
  /** Lull without new connections to wait for before closing the listener (default 250 ms; 0: close at once). */
  readonly quietMs?: number;
}

/**
 * Graceful stop of one HTTP server. `drain()` marks every response from now on (and every
 * in-flight one whose headers are not out yet) `Connection: close`, so keep-alive clients move to
 * new connections while the listener still accepts them; `close()` then waits for new connections
 * to stop arriving, stops accepting, lets
 * every accepted request finish, and closes each keep-alive connection once its response is out.
 * Only a deadline cuts connections that are still busy.
 */
export class GracefulServer {
  private readonly inFlight = new Set<ServerResponse>();
  private draining = false;
  private lastConnectionAt = 0;

  constructor(private readonly server: Server) {
    server.on('connection', () => {
      this.lastConnectionAt = Date.now();
    });
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) res.shouldKeepAlive = false;
      this.inFlight.add(res);
      res.once('close', () => this.inFlight.delete(res));
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Requests accepted and not yet answered. */
  get pending(): number {
    return this.inFlight.size;
  }

  drain(): void {
    this.draining = true;
    for (const res of this.inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
  }

  /**
   * Waits until no connection has arrived for `quietMs` (or until `until`). Connections the
   * kernel has already completed but the process has not accepted yet sit in the listen
   * backlog; closing the listener resets them, so it closes only once the backlog has emptied,
   * which happens soon after the load balancer stops sending.
   */
  async quiet(quietMs: number, until: number): Promise<void> {
    while (Date.now() < until) {
      const wait = this.lastConnectionAt + quietMs - Date.now();
      if (wait <= 0) return;
      await new Promise((r) => setTimeout(r, Math.min(wait, until - Date.now())));
    }
  }

  /** Resolves true when every connection ended by itself, false when the deadline cut some. */
  async close(deadline: number, quietMs = QUIET_MS): Promise<boolean> {
    this.drain();
    // Half the time left may go to waiting for quiet; the rest is for answering.
    if (quietMs > 0) await this.quiet(quietMs, Date.now() + (deadline - Date.now()) / 2);
    return new Promise((resolve) => {
      let done = false;
      const finish = (graceful: boolean): void => {
        if (done) return;
        done = true;
        clearInterval(idle);
        clearTimeout(cut);
        resolve(graceful);
      };
      // close() stops accepting and ends idle keep-alive connections; a connection whose last
      // response started before drain() has no `Connection: close`, so end it once it turns idle.
      this.server.close(() => finish(true));
      const idle = setInterval(() => this.server.closeIdleConnections(), 50);
      const cut = setTimeout(() => {
        this.server.closeAllConnections();
        finish(false);
      }, Math.max(0, deadline - Date.now()));
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits `ms`, but never past `deadline`. */
export function sleepUntil(ms: number, deadline: number): Promise<void> {
  return sleep(Math.max(0, Math.min(ms, deadline - Date.now())));
}
