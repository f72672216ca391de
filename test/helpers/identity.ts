/**
 * For the verifier tests: outcomes of ID-token verification (the refusal's code, or the error
 * itself), and the shared fixture of a real issuer, a controllable clock and a verifier on it.
 */
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { createVerifier, IdentityError, type IssuerConfig, type OidcVerifier } from '../../src/identity/index.js';
import { TestIssuer } from './issuer.js';

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

export interface IdentityIssuerFixture {
  /** The real OIDC issuer on 127.0.0.1, started once for the file. */
  readonly issuer: TestIssuer;
  /** A controllable clock (ms) the verifier reads; tokens are minted against it too. Reset before each test. */
  readonly clock: { ms: number };
  now(): number;
  nowSeconds(): number;
  /** The issuer's configuration entry (id `test`, audience `portcullis`) with `extra` over it. */
  entry(extra?: Partial<IssuerConfig>): IssuerConfig;
  /** A verifier on the fixture's clock, without the verification cache. */
  verifierFor(configs?: IssuerConfig[], extra?: VerifierOptions): OidcVerifier;
  /** An ID token from the issuer, issued at the fixture's clock. */
  mint(claims?: Record<string, unknown>, opts?: Parameters<TestIssuer['mint']>[1]): Promise<string>;
}

type VerifierOptions = NonNullable<Parameters<typeof createVerifier>[1]>;

/**
 * Registers the hooks of a verifier test file: one issuer for the file, and before each test a
 * fresh clock, a rotated key, no injected failures and zeroed request counts.
 */
export function useIdentityIssuer(defaults: Pick<VerifierOptions, 'logger'> = {}): IdentityIssuerFixture {
  let issuer: TestIssuer | undefined;
  const clock = { ms: Date.now() };
  const now = (): number => clock.ms;
  const nowSeconds = (): number => Math.floor(clock.ms / 1000);
  const started = (): TestIssuer => {
    if (issuer === undefined) throw new Error('the issuer starts in beforeAll');
    return issuer;
  };
  const entry = (extra: Partial<IssuerConfig> = {}): IssuerConfig => ({ id: 'test', issuer: started().issuer, audiences: ['portcullis'], ...extra });

  beforeAll(async () => {
    issuer = await TestIssuer.start();
  });
  afterAll(async () => {
    await issuer?.close();
  });
  beforeEach(async () => {
    const i = started();
    clock.ms = Date.now();
    i.discoveryIssuerOverride = undefined;
    i.jwksFailureStatus = undefined;
    i.stallRequests = false;
    i.extraJwks = [];
    await i.rotate();
    i.resetCounts();
  });

  return {
    get issuer() {
      return started();
    },
    clock,
    now,
    nowSeconds,
    entry,
    verifierFor: (configs = [entry()], extra = {}) => createVerifier(configs, { now, ...defaults, cache: false, ...extra }),
    mint: (claims = {}, opts = {}) => started().mint(claims, { now: nowSeconds(), ...opts }),
  };
}
