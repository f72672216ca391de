import { oauthError, postForm } from './http.js';
import type { Login } from './logins.js';

export type SessionState = { live: true } | { live: false; reason: 'expired' | 'ended' } | { live: 'unknown'; why: string };

export const HELPER_CLIENT_ID = 'docker-credential-portcullis';

/**
 * Is the stored session still good? Expiry is known locally; revocation only to the broker, so a
 * refresh grant without scope asks it (it issues an empty token and touches the session's last use).
 */
export async function checkSession(login: Login, now: number = Date.now()): Promise<SessionState> {
  if (Date.parse(login.expiresAt) <= now) return { live: false, reason: 'expired' };
  let answer;
  try {
    answer = await postForm(login.tokenEndpoint, {
      grant_type: 'refresh_token',
      refresh_token: login.refreshToken,
      service: login.service,
      client_id: HELPER_CLIENT_ID,
    });
  } catch (err) {
    return { live: 'unknown', why: (err as Error).message };
  }
  if (answer.status === 200) return { live: true };
  if (answer.status === 400 || answer.status === 401 || answer.status === 403) return { live: false, reason: 'ended' };
  const { error, description } = oauthError(answer.body);
  return { live: 'unknown', why: `the broker answered ${answer.status} ${error}${description ? `: ${description}` : ''}` };
}
