import { randomInt } from 'node:crypto';

/**
 * User codes of the device grant (RFC 8628 §6.1): consonants only, so no words
 * and no look-alikes (0/O, 1/I/L are all absent), 8 letters in XXXX-XXXX form:
 * 20^8 ≈ 2^34.6 codes, which with guess limits and a 10 minute life is enough.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const LENGTH = 8;

export function newUserCode(): string {
  let out = '';
  for (let i = 0; i < LENGTH; i++) out += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${out.slice(0, 4)}-${out.slice(4)}`;
}

/** Canonical form of what a person typed (case, spaces and dashes do not matter); null when it cannot be a code. */
export function normalizeUserCode(input: string): string | null {
  const letters = input.toUpperCase().replace(/[\s-]/g, '');
  if (letters.length !== LENGTH) return null;
  for (const c of letters) if (!USER_CODE_ALPHABET.includes(c)) return null;
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}
