/**
 * Outcomes of ID-token verification for the identity tests: the refusal's code, or the
 * error itself, from a promise that may reject with an IdentityError.
 */
import { expect } from 'vitest';
import { IdentityError } from '../../src/identity/index.js';

/** The IdentityError `promise` rejects with; fails the test if it settles, or rejects with anything else. */
export async function identityFailure(promise: Promise<unknown>): Promise<IdentityError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(IdentityError);
    return error as IdentityError;
  }
  throw new Error('expected verification to fail');
}

/** The refusal's code; fails the test if verification succeeds. */
export const identityErrorCode = async (promise: Promise<unknown>): Promise<string> => (await identityFailure(promise)).code;

/**
 * The refusal's code, or 'accepted' when verification succeeds: for tables of tokens where
 * some must pass and some must fail. Any other error fails the test.
 */
export async function verificationOutcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(IdentityError);
    return (error as IdentityError).code;
  }
  return 'accepted';
}
