/**
 * Deadlines for many short operations at once. A timer per Redis command (setTimeout,
 * clearTimeout, Promise.race) cost more than the command's own client-side work on the token
 * path; here one sweep per tick rejects whatever is overdue, and an operation costs a set
 * insertion and removal. A deadline fires up to one tick late, which is fine for a timeout that
 * only exists so a hung server cannot hold requests forever.
 */
interface Pending {
  readonly at: number;
  readonly expire: () => void;
}

export class Deadlines {
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tickMs = 25,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** Settles like `promise`, or rejects with `onTimeout()` once `ms` have passed without it settling. */
  race<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { at: this.now() + ms, expire: () => reject(onTimeout()) };
      this.pending.add(entry);
      this.arm();
      promise.then(
        (value) => {
          this.pending.delete(entry);
          resolve(value);
        },
        (err: unknown) => {
          this.pending.delete(entry);
          reject(err);
        },
      );
    });
  }

  get size(): number {
    return this.pending.size;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), this.tickMs);
    // Never what keeps a process alive: the operations themselves do that.
    this.timer.unref();
  }

  private sweep(): void {
    const now = this.now();
    for (const entry of this.pending) {
      if (entry.at > now) continue;
      this.pending.delete(entry);
      entry.expire();
    }
    if (this.pending.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
