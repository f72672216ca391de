import { calculatePKCECodeChallenge, randomPKCECodeVerifier, randomState } from 'openid-client';

export interface Pkce {
  /** RFC 7636 verifier: 43 characters of base64url (256 bits). */
  verifier: string;
  /** S256 challenge of the verifier. */
  challenge: string;
}

export async function newPkce(): Promise<Pkce> {
  const verifier = randomPKCECodeVerifier();
  return { verifier, challenge: await calculatePKCECodeChallenge(verifier) };
}

/** 256 bits, base64url: binds the browser's return to this login attempt. */
export function newState(): string {
  return randomState();
}
