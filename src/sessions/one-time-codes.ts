import type { Store } from '../store/index.js';
import { sessionKeys } from './keys.js';
import { storeFailures } from './errors.js';
import { ONE_TIME_CODE_PREFIX, isWellFormedSecret, newSecret, secretHash } from './secrets.js';

export const MAX_CODE_LIFETIME_SEC = 600;
const PURPOSE = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * One-time codes (browser login hand-offs and the like): 256 random bits,
 * stored by hash with a short TTL, consumed with an atomic take so of two
 * concurrent redemptions exactly one gets the payload.
 */
export class OneTimeCodes {
  constructor(private readonly store: Store) {}

  /** Stores `payload` under a new code for `purpose`; returns the code to hand out. */
  async create(purpose: string, payload: string, lifetimeSec = 60): Promise<string> {
    checkPurpose(purpose);
    if (!Number.isInteger(lifetimeSec) || lifetimeSec < 1 || lifetimeSec > MAX_CODE_LIFETIME_SEC) {
      throw new RangeError(`one-time code lifetime must be 1..${MAX_CODE_LIFETIME_SEC} seconds`);
    }
    const code = newSecret(ONE_TIME_CODE_PREFIX);
    const created = await storeFailures(this.store.putIfAbsent(sessionKeys.oneTimeCode(purpose, secretHash(code)), payload, lifetimeSec * 1000));
    // 256 random bits do not collide; if they ever did, refusing is the safe answer.
    if (!created) throw new Error('one-time code collision');
    return code;
  }

  /** The payload on the first call for a live code of this purpose; null otherwise (unknown, used, expired). */
  async consume(purpose: string, code: string): Promise<string | null> {
    checkPurpose(purpose);
    if (!isWellFormedSecret(ONE_TIME_CODE_PREFIX, code)) return null;
    return storeFailures(this.store.take(sessionKeys.oneTimeCode(purpose, secretHash(code))));
  }
}

function checkPurpose(purpose: string): void {
  if (!PURPOSE.test(purpose)) throw new RangeError('one-time code purpose must match [a-z][a-z0-9-]{0,31}');
}
