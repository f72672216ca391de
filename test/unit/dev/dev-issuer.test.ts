import { mkdtemp, readFile, rm, stat, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVerifier, IdentityError } from '../../../src/identity/index.js';
import { DevIssuer, devIssuerConfig } from '../../../src/dev/index.js';

const ISSUER = 'http://127.0.0.1:5000/dev';
const noNetwork = (() => {
  throw new Error('network access while verifying dev tokens');
}) as unknown as typeof fetch;

describe('DevIssuer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portcullis-dev-issuer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates its key once with mode 0600 and reuses it', async () => {
    const first = await DevIssuer.open(dir, ISSUER);
    const path = join(dir, 'dev-issuer-key.pem');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const pem = await readFile(path, 'utf8');
    const second = await DevIssuer.open(dir, `${ISSUER}/`);
    expect(await readFile(path, 'utf8')).toBe(pem);
    expect(second.kid).toBe(first.kid);
    expect(second.issuer).toBe(ISSUER);
    expect(second.jwks()).toEqual(first.jwks());
  });

  it('refuses a key file other users can read', async () => {
    await DevIssuer.open(dir, ISSUER);
    await chmod(join(dir, 'dev-issuer-key.pem'), 0o644);
    await expect(DevIssuer.open(dir, ISSUER)).rejects.toThrow(/chmod 600/);
  });

  it('publishes a discovery document and a public-only JWKS', async () => {
    const dev = await DevIssuer.open(dir, ISSUER);
    expect(dev.discoveryDocument()).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/jwks`,
      id_token_signing_alg_values_supported: ['ES256'],
    });
    const [key] = dev.jwks().keys;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: dev.kid });
    expect(key).not.toHaveProperty('d');
  });

  it('mints tokens the broker verifies offline through its static JWKS', async () => {
    const dev = await DevIssuer.open(dir, ISSUER);
    const verifier = createVerifier([devIssuerConfig(dev)], { fetch: noNetwork });
    const token = dev.mint({ team: 'platform' });
    const identity = await verifier.verify(token);
    expect(identity).toMatchObject({ issuer: ISSUER, issuerId: 'dev', subject: 'dev:developer' });
    expect(identity.claims).toMatchObject({ aud: 'portcullis', team: 'platform' });
    const claims = identity.claims as { iat: number; nbf: number; exp: number; jti: string };
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims.nbf).toBe(claims.iat);
    expect(identity.tokenId).toBe(claims.jti);

    const custom = await verifier.verify(dev.mint({}, { subject: 'dev:alice', lifetimeSeconds: 60 }));
    expect(custom.subject).toBe('dev:alice');
    expect(custom.expiresAt - (custom.claims.iat as number)).toBe(60);
  });

  it('mints tokens other audiences reject', async () => {
    const dev = await DevIssuer.open(dir, ISSUER);
    const verifier = createVerifier([devIssuerConfig(dev)], { fetch: noNetwork });
    const error = await verifier.verify(dev.mint({}, { audience: 'elsewhere' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityError);
    expect((error as IdentityError).code).toBe('wrong_audience');
  });

  it('cannot be used to forge another issuer', async () => {
    const dev = await DevIssuer.open(dir, ISSUER);
    const verifier = createVerifier([devIssuerConfig(dev)], { fetch: noNetwork });
    const token = dev.mint({ iss: 'https://token.actions.githubusercontent.com' });
    expect((await verifier.verify(token)).issuer).toBe(ISSUER);
  });
});
