import type { Identity } from '../identity/index.js';
import type { PeopleProvider, StoredIdentity } from './types.js';

/** An Identity as JSON for the Store (codes, device approvals). */
export function storeIdentity(identity: Identity): StoredIdentity {
  return {
    issuer: identity.issuer,
    issuerId: identity.issuerId,
    subject: identity.subject,
    claims: identity.claims,
    tokenHash: identity.tokenHash,
    expiresAt: identity.expiresAt,
    ...(identity.tokenId !== undefined ? { tokenId: identity.tokenId } : {}),
  };
}

export function restoreIdentity(stored: StoredIdentity): Identity {
  return { ...stored };
}

/** The first configured name claim that holds a non-empty string; the subject otherwise. */
export function displayName(provider: PeopleProvider | undefined, claims: Readonly<Record<string, unknown>>, subject: string): string {
  for (const name of provider?.nameClaims ?? []) {
    const value = claims[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim().slice(0, 200);
  }
  return subject;
}

/** The person's groups from the configured claim (strings only), for the result page. */
export function groupsOf(provider: PeopleProvider | undefined, claims: Readonly<Record<string, unknown>>): string[] {
  if (provider?.groupsClaim === undefined) return [];
  const value = claims[provider.groupsClaim];
  return Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string').slice(0, 50) : [];
}
