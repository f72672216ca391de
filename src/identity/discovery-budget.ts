/**
 * How many new concrete issuers a wildcard entry may start fetching keys for, per window.
 * Anyone can send an unsigned token naming any `iss` a pattern matches, and its keys must be
 * fetched before the signature can be checked; so the entry-wide budget bounds our outbound
 * requests, and a per-client share of it keeps one caller from spending all of it and locking
 * a real new cluster out until the window ends.
 */
export interface DiscoveryBudgetOptions {
  readonly windowMs: number;
  /** New issuers per entry per window, whoever asks. */
  readonly perEntry: number;
  /** New issuers per entry per window for one client; at most `perEntry`. */
  readonly perClient: number;
}

interface Window {
  start: number;
  used: number;
  /** Bounded by `perEntry`: a client is recorded only when it spent some of the budget. */
  readonly byClient: Map<string, number>;
}

export class DiscoveryBudget {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: DiscoveryBudgetOptions) {
    if (!(options.perClient >= 1 && options.perEntry >= 1)) throw new RangeError('discovery budgets must be at least 1');
  }

  /**
   * Spend one unit for `entryId` on behalf of `client` at `now`; false when the client's
   * share or the entry's budget is used up. A refused client spends nothing.
   */
  take(entryId: string, client: string | undefined, now: number): boolean {
    let window = this.windows.get(entryId);
    if (window === undefined || now - window.start >= this.options.windowMs) {
      window = { start: now, used: 0, byClient: new Map() };
      this.windows.set(entryId, window);
    }
    if (window.used >= this.options.perEntry) return false;
    if (client !== undefined) {
      const spent = window.byClient.get(client) ?? 0;
      if (spent >= this.options.perClient) return false;
      window.byClient.set(client, spent + 1);
    }
    window.used += 1;
    return true;
  }
}
