import type { Store } from '../store/index.js';
import { sha256 } from '../sessions/index.js';
import type { PendingFlow } from './types.js';

const key = (state: string): string => `login:flow:${sha256(state)}`;

function parse(raw: string | null): PendingFlow | null {
  if (raw === null) return null;
  try {
    const f = JSON.parse(raw) as PendingFlow;
    return f.v === 1 && typeof f.codeVerifier === 'string' && typeof f.nonce === 'string' && typeof f.browserBinding === 'string' ? f : null;
  } catch {
    return null;
  }
}

/**
 * Sign-ins in progress at the provider, keyed by the hash of their `state`, in
 * the Store so the callback may reach any replica. `take` makes each state
 * usable for exactly one callback: a replayed callback finds nothing.
 */
export class PendingFlows {
  constructor(
    private readonly store: Store,
    private readonly lifetimeSec: number,
  ) {}

  async save(state: string, flow: PendingFlow): Promise<void> {
    await this.store.put(key(state), JSON.stringify(flow), this.lifetimeSec * 1000);
  }

  take(state: string): Promise<PendingFlow | null> {
    return this.store.take(key(state)).then(parse);
  }
}
