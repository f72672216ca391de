import type { Store, RateLimiter } from '../store/index.js';
import { sha256 } from '../sessions/index.js';
import { LoginError, type LoginErrorCode } from './errors.js';
import { newUserCode, normalizeUserCode } from './user-code.js';
import type { DeviceRecord, DeviceSettings, StoredIdentity } from './types.js';
import { randomBytes } from 'node:crypto';

export const DEVICE_CODE_PREFIX = 'pcd_';
const DEVICE_CODE_RE = /^pcd_[A-Za-z0-9_-]{43}$/;
/** An expired record is kept this long so a late poll hears `expired_token`, not `invalid_grant`. */
const TOMBSTONE_MS = 10 * 60_000;
/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval. */
const SLOW_DOWN_STEP_SEC = 5;

const keys = {
  record: (hash: string): string => `login:dc:${hash}`,
  poll: (hash: string): string => `login:dcp:${hash}`,
  userCode: (code: string): string => `login:uc:${code}`,
  blocked: (who: string): string => `login:ucb:${sha256(who)}`,
};

interface PollState {
  readonly last: number;
  readonly interval: number;
}

export type PollResult =
  | { readonly status: 'approved'; readonly record: DeviceRecord & { identity: StoredIdentity } }
  | { readonly status: 'error'; readonly error: LoginError };

function parseRecord(raw: string | null): DeviceRecord | null {
  if (raw === null) return null;
  try {
    const r = JSON.parse(raw) as DeviceRecord;
    return r.v === 1 && typeof r.userCode === 'string' && typeof r.expiresAt === 'number' ? r : null;
  } catch {
    return null;
  }
}

/**
 * The device authorization grant (RFC 8628) on the Store, so a device may poll
 * one replica while the person approves on another. The record's status is
 * written only by the approving person; polls write a separate key, so a poll
 * can never overwrite an approval.
 */
export class DeviceGrants {
  private readonly guesses: RateLimiter;

  constructor(
    private readonly store: Store,
    private readonly settings: DeviceSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.guesses = store.rateLimiter({ name: 'user-code', points: settings.maxUserCodeAttempts, durationSec: settings.attemptWindowSec });
  }

  async start(input: { clientId: string; service: string; provider: string; requestedFrom: string }): Promise<{ deviceCode: string; userCode: string; expiresIn: number; interval: number }> {
    const now = this.now();
    const deviceCode = `${DEVICE_CODE_PREFIX}${randomBytes(32).toString('base64url')}`;
    const hash = sha256(deviceCode);
    const lifetimeMs = this.settings.codeLifetimeSec * 1000;
    // A user code is short: on the rare collision with a live one, draw again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const userCode = newUserCode();
      if (!(await this.store.putIfAbsent(keys.userCode(userCode), hash, lifetimeMs))) continue;
      const record: DeviceRecord = { v: 1, ...input, userCode, createdAt: now, expiresAt: now + lifetimeMs, status: 'pending' };
      await this.store.put(keys.record(hash), JSON.stringify(record), lifetimeMs + TOMBSTONE_MS);
      return { deviceCode, userCode, expiresIn: this.settings.codeLifetimeSec, interval: this.settings.intervalSec };
    }
    throw new LoginError('unavailable', 'could not allocate a user code; try again');
  }

  /**
   * The pending request behind a user code a person typed, counting wrong guesses per
   * person and per IP; past the limit every attempt is refused for the window.
   */
  async lookup(input: string, guesser: { subject: string; ip: string }): Promise<{ record: DeviceRecord; userCode: string }> {
    const who = [`sub:${guesser.subject}`, ...(guesser.ip ? [`ip:${guesser.ip}`] : [])];
    for (const w of who) {
      const blocked = await this.store.get(keys.blocked(w));
      if (blocked !== null) {
        const retry = Math.max(1, Math.ceil((Number(blocked) - this.now()) / 1000));
        throw new LoginError('rate_limited', `too many wrong codes; try again in ${Math.ceil(retry / 60)} minute(s)`, retry);
      }
    }
    const userCode = normalizeUserCode(input);
    const record = userCode === null ? null : await this.pendingByUserCode(userCode);
    if (record !== null && userCode !== null) return { record, userCode };
    // Every wrong guess counts against the person and the IP alike.
    let retryMs = 0;
    for (const w of who) {
      const decision = await this.guesses.consume(sha256(w));
      if (decision.allowed) continue;
      await this.store.put(keys.blocked(w), String(this.now() + decision.retryAfterMs), Math.max(1000, decision.retryAfterMs));
      retryMs = Math.max(retryMs, decision.retryAfterMs);
    }
    if (retryMs > 0) {
      const retry = Math.max(1, Math.ceil(retryMs / 1000));
      throw new LoginError('rate_limited', `too many wrong codes; try again in ${Math.ceil(retry / 60)} minute(s)`, retry);
    }
    throw new LoginError('invalid_request', 'no pending sign-in request has this code: check the code your device shows (it may have expired)');
  }

  private async pendingByUserCode(userCode: string): Promise<DeviceRecord | null> {
    const hash = await this.store.get(keys.userCode(userCode));
    if (hash === null) return null;
    const record = parseRecord(await this.store.get(keys.record(hash)));
    return record !== null && record.status === 'pending' && record.expiresAt > this.now() && record.userCode === userCode ? record : null;
  }

  /** Approves or refuses the request of `userCode` (already looked up by the same person). */
  async decide(userCode: string, approve: boolean, identity: StoredIdentity): Promise<DeviceRecord> {
    // take(): the user code works once, for one decision.
    const hash = await this.store.take(keys.userCode(userCode));
    const record = hash === null ? null : parseRecord(await this.store.get(keys.record(hash)));
    if (hash === null || record === null || record.status !== 'pending' || record.expiresAt <= this.now()) {
      throw new LoginError('invalid_request', 'this request was already decided or has expired');
    }
    const decided: DeviceRecord = approve ? { ...record, status: 'approved', identity } : { ...record, status: 'denied' };
    await this.store.put(keys.record(hash), JSON.stringify(decided), record.expiresAt - this.now() + TOMBSTONE_MS);
    return decided;
  }

  /** One poll of the device (RFC 8628 §3.4–3.5). An approval is handed out once. */
  async poll(deviceCode: string, clientId: string): Promise<PollResult> {
    const fail = (code: LoginErrorCode, message: string): PollResult => ({ status: 'error', error: new LoginError(code, message) });
    if (!DEVICE_CODE_RE.test(deviceCode)) return fail('invalid_grant', 'malformed device_code');
    const hash = sha256(deviceCode);
    const record = parseRecord(await this.store.get(keys.record(hash)));
    if (record === null) return fail('invalid_grant', 'unknown device_code');
    if (record.clientId !== clientId) return fail('invalid_grant', 'device_code was issued to another client_id');
    const now = this.now();
    if (record.expiresAt <= now) return fail('expired_token', 'the device code expired before the sign-in was approved; start again');

    const pollKey = keys.poll(hash);
    const previous = await this.store.get(pollKey);
    const state: PollState | null = previous === null ? null : (JSON.parse(previous) as PollState);
    const interval = state?.interval ?? this.settings.intervalSec;
    const ttl = record.expiresAt - now + TOMBSTONE_MS;
    if (state !== null && now - state.last < interval * 1000) {
      const slower = interval + SLOW_DOWN_STEP_SEC;
      await this.store.put(pollKey, JSON.stringify({ last: now, interval: slower }), ttl);
      return fail('slow_down', `polling faster than every ${interval} s; wait ${slower} s between requests`);
    }
    await this.store.put(pollKey, JSON.stringify({ last: now, interval }), ttl);

    if (record.status === 'pending') return fail('authorization_pending', 'waiting for the person to approve the request in the browser');
    if (record.status === 'denied') {
      await this.store.delete(keys.record(hash));
      return fail('access_denied', 'the person refused this sign-in request');
    }
    // Approved: take the record so exactly one poll receives the session.
    const taken = parseRecord(await this.store.take(keys.record(hash)));
    if (taken === null || taken.status !== 'approved' || taken.identity === undefined) return fail('invalid_grant', 'device_code was already used');
    return { status: 'approved', record: taken as DeviceRecord & { identity: StoredIdentity } };
  }
}
