import { setTimeout as sleep } from 'node:timers/promises';
import type { LoginEndpoints } from './discovery.js';
import { ClientError } from './errors.js';
import { oauthError, postForm } from './http.js';
import { listenForCallback } from './loopback.js';
import { newPkce, newState } from './pkce.js';
import { parseGrant, refusal, type Grant } from './token-response.js';

export const CLI_CLIENT_ID = 'portcullis-cli';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface FlowOptions {
  service?: string;
  provider?: string;
  /** Where the person is told what to do (stderr). */
  say: (line: string) => void;
}

export interface HandOffOptions extends FlowOptions {
  /** Opens the browser; false when it could not. */
  open: (url: string) => Promise<boolean>;
  timeoutMs?: number;
}

/** RFC 8252 hand-off: loopback listener, browser at the broker, code + PKCE verifier redeemed for a refresh token. */
export async function handOffLogin(endpoints: LoginEndpoints, options: HandOffOptions): Promise<Grant> {
  const state = newState();
  const pkce = await newPkce();
  const listener = await listenForCallback(state);
  try {
    const url = new URL(endpoints.authorization);
    url.searchParams.set('redirect_uri', listener.redirectUri);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', pkce.challenge);
    url.searchParams.set('code_challenge_method', 'S256');
    if (options.service) url.searchParams.set('service', options.service);
    if (options.provider) url.searchParams.set('provider', options.provider);
    const opened = await options.open(url.href);
    options.say(opened ? 'Your browser has been opened to sign in. If it did not open, visit:' : 'Open this address in a browser to sign in:');
    options.say(`  ${url.href}`);
    const code = await listener.waitForCode(options.timeoutMs ?? 5 * 60_000);
    const answer = await postForm(endpoints.token, {
      grant_type: 'authorization_code',
      code,
      code_verifier: pkce.verifier,
      redirect_uri: listener.redirectUri,
    });
    if (answer.status !== 200) throw refusal('the sign-in code was', answer);
    return parseGrant(answer);
  } finally {
    await listener.close();
  }
}

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

function deviceAuthorization(body: unknown): DeviceAuthorization {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const str = (k: string): string => {
    if (typeof b[k] !== 'string' || b[k] === '') throw new ClientError('bad_answer', `the broker's device authorization lacks "${k}"`);
    return b[k];
  };
  const expires = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 600;
  return {
    device_code: str('device_code'),
    user_code: str('user_code'),
    verification_uri: str('verification_uri'),
    ...(typeof b.verification_uri_complete === 'string' ? { verification_uri_complete: b.verification_uri_complete } : {}),
    expires_in: expires,
    ...(typeof b.interval === 'number' && b.interval > 0 ? { interval: b.interval } : {}),
  };
}

export interface DeviceOptions extends FlowOptions {
  /** For tests: the clock and the wait between polls. */
  sleep?: (ms: number) => Promise<unknown>;
  now?: () => number;
}

/** RFC 8628 device authorization grant: print the user code, poll until approved, refused or expired. */
export async function deviceLogin(endpoints: LoginEndpoints, options: DeviceOptions): Promise<Grant> {
  const wait = options.sleep ?? ((ms: number) => sleep(ms));
  const now = options.now ?? Date.now;
  const form: Record<string, string> = { client_id: CLI_CLIENT_ID };
  if (options.service) form.service = options.service;
  if (options.provider) form.provider = options.provider;
  const started = await postForm(endpoints.deviceAuthorization, form);
  if (started.status !== 200) throw refusal('the device sign-in was', started);
  const device = deviceAuthorization(started.body);

  options.say(`To sign in, open ${device.verification_uri} in a browser on any device and enter the code:`);
  options.say(`  ${device.user_code}`);
  if (device.verification_uri_complete) options.say(`(or open ${device.verification_uri_complete})`);
  options.say('Waiting for approval…');

  // RFC 8628 §3.5: 5 s unless told otherwise; slow_down adds 5 s for this and every later poll.
  let intervalMs = (device.interval ?? 5) * 1000;
  const deadline = now() + device.expires_in * 1000;
  for (;;) {
    await wait(intervalMs);
    if (now() > deadline) throw new ClientError('refused', 'the device code expired before it was approved; run the command again');
    const answer = await postForm(endpoints.token, { grant_type: DEVICE_GRANT, device_code: device.device_code, client_id: CLI_CLIENT_ID });
    if (answer.status === 200) return parseGrant(answer);
    const { error } = oauthError(answer.body);
    if (error === 'authorization_pending') continue;
    if (error === 'slow_down') {
      intervalMs += 5000;
      continue;
    }
    if (error === 'expired_token') throw new ClientError('refused', 'the device code expired before it was approved; run the command again');
    if (error === 'access_denied') throw new ClientError('refused', 'the sign-in was refused in the browser');
    throw refusal('the device sign-in was', answer);
  }
}
