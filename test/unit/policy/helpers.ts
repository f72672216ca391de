import type { Identity } from '../../../src/identity/types.js';
import { parseScopes } from '../../../src/registry/index.js';
import type { PolicyRequest } from '../../../src/policy/index.js';

export const GHA = 'https://token.actions.githubusercontent.com';

export function identity(claims: Record<string, unknown>, issuer = GHA): Identity {
  return {
    issuer,
    subject: typeof claims.sub === 'string' ? claims.sub : 'subject',
    claims: { iss: issuer, ...claims },
    issuerId: 'test',
    tokenHash: 'hash',
    expiresAt: 2_000_000_000,
  };
}

export function request(id: Identity | null, scopes: string[], extra: Partial<PolicyRequest> = {}): PolicyRequest {
  return { identity: id, scopes: parseScopes(scopes), service: 'registry.test', ...extra };
}
