import { postForm } from './http.js';
import { refusal } from './token-response.js';

/** RFC 7009 revocation at the broker; throws when the broker cannot confirm it. */
export async function revokeAtBroker(revocationEndpoint: string, refreshToken: string): Promise<void> {
  const answer = await postForm(revocationEndpoint, { token: refreshToken, token_type_hint: 'refresh_token' });
  if (answer.status !== 200) throw refusal('revocation was', answer);
}
