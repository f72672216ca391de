import { z } from 'zod';
import { ClientError } from './errors.js';
import { oauthError, type JsonAnswer } from './http.js';

/** The broker's answer to a redeemed hand-off code or an approved device code. */
const grantSchema = z.object({
  refresh_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().int().positive(),
  subject: z.string().optional(),
  issuer: z.string().optional(),
  service: z.string(),
  name: z.string().optional(),
});
export type Grant = z.infer<typeof grantSchema>;

export function parseGrant(answer: JsonAnswer): Grant {
  const parsed = grantSchema.safeParse(answer.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClientError('bad_answer', `the broker's token answer is incomplete (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`);
  }
  return parsed.data;
}

/** One line for a refused login request, naming the OAuth error code. */
export function refusal(what: string, answer: JsonAnswer): ClientError {
  const { error, description } = oauthError(answer.body);
  return new ClientError('refused', `${what} refused (${answer.status} ${error})${description ? `: ${description}` : ''}`);
}
