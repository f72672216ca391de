/**
 * Explicit typing (RFC 8725 §3.11): a JWT whose `typ` names another kind of token, such as an
 * OAuth access token (`at+jwt`, RFC 9068) or a logout token, is not an ID token even when the
 * same issuer signed it with the same key. Absent and `JWT` are what ID tokens carry.
 */
import { quote } from './claims.js';
import { normaliseType, type TrustedIssuer } from './issuer-registry.js';
import { IdentityError } from './types.js';

export function checkTokenType(header: Readonly<Record<string, unknown>>, issuer: TrustedIssuer): void {
  const typ = header.typ;
  if (typ === undefined) return;
  if (typeof typ !== 'string') throw new IdentityError('malformed', 'JWS header typ is not a string');
  const type = normaliseType(typ);
  if (type === 'jwt' || issuer.allowedTypes.has(type)) return;
  const extra = issuer.allowedTypes.size > 0 ? ` or ${[...issuer.allowedTypes].join(', ')}` : '';
  throw new IdentityError(
    'wrong_type',
    `token type ${quote(typ)} is not an ID token; issuer ${JSON.stringify(issuer.id)} accepts typ JWT${extra} (setting allowedTypes)`,
  );
}
