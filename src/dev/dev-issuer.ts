/**
 * DEVELOPMENT ONLY: a local OIDC issuer for trying Portcullis without a CI provider.
 * Anyone who can read `dev-issuer-key.pem` can mint identities for it; never trust it in production.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IssuerConfig, JwksDocument } from '../identity/index.js';
import {
  KeyError,
  createTokenSigner,
  exists,
  exportPrivateKeyPem,
  generateSigningKey,
  jwkThumbprint,
  parsePrivateKeyPem,
  publicJwk,
  writeFileExclusive,
  type TokenSigner,
} from '../keys/index.js';

export const DEV_ISSUER_KEY_FILE = 'dev-issuer-key.pem';
export const DEV_ISSUER_DEFAULT_AUDIENCE = 'portcullis';
export const DEV_ISSUER_DEFAULT_SUBJECT = 'dev:developer';

export interface DevMintOptions {
  audience?: string;
  /** Default 300 s. */
  lifetimeSeconds?: number;
  subject?: string;
}

/** Key persistence is keys/'s: written whole, mode 0600, never over an existing file. */
async function loadOrCreateKey(path: string, create: boolean): Promise<KeyObject> {
  if (!(await exists(path))) {
    // A dry run (`config check`) uses a throwaway key and leaves the data dir alone.
    if (!create) return generateSigningKey('ES256');
    try {
      await writeFileExclusive(path, exportPrivateKeyPem(await generateSigningKey('ES256')), 0o600);
    } catch (error) {
      // Another process starting at the same time won the race: use its key.
      if (!(error instanceof KeyError && error.code === 'file_exists')) throw error;
    }
  }
  if (process.platform !== 'win32' && ((await stat(path)).mode & 0o077) !== 0) {
    throw new Error(`${path} is readable by other users; run chmod 600 on it`);
  }
  return parsePrivateKeyPem(await readFile(path, 'utf8'), 'ES256', path);
}

export class DevIssuer {
  private constructor(
    readonly issuer: string,
    private readonly signer: TokenSigner,
    private readonly publicJwk: Readonly<Record<string, unknown>>,
    readonly kid: string,
  ) {}

  /**
   * Open (or create, once) the development issuer whose key lives in `dataDir`.
   * `create: false` (a dry run) writes nothing: without a key file it uses a throwaway key.
   */
  static async open(dataDir: string, issuerUrl: string, options: { create?: boolean } = {}): Promise<DevIssuer> {
    const issuer = issuerUrl.replace(/\/+$/, '');
    if (!URL.canParse(issuer)) throw new Error(`dev issuer URL ${issuerUrl} is not an absolute URL`);
    const create = options.create ?? true;
    if (create) await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const privateKey = await loadOrCreateKey(join(dataDir, DEV_ISSUER_KEY_FILE), create);
    // RFC 7638 thumbprint: stable across restarts, changes only with the key.
    const kid = `dev-${await jwkThumbprint(privateKey)}`;
    const jwk = Object.freeze(await publicJwk(privateKey, { kid, alg: 'ES256' }));
    return new DevIssuer(issuer, createTokenSigner({ alg: 'ES256', privateKey, kid }), jwk, kid);
  }

  jwks(): JwksDocument {
    return { keys: [{ ...this.publicJwk }] };
  }

  discoveryDocument(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'],
      service_documentation: 'Portcullis development issuer: for local testing only, never trust it in production',
    };
  }

  /** A signed ES256 ID token; `claims` may override anything except `iss`. */
  mint(claims: Record<string, unknown> = {}, opts: DevMintOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const lifetime = opts.lifetimeSeconds ?? 300;
    const payload: Record<string, unknown> = {
      sub: DEV_ISSUER_DEFAULT_SUBJECT,
      aud: DEV_ISSUER_DEFAULT_AUDIENCE,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      jti: randomUUID(),
      ...claims,
      iss: this.issuer,
    };
    if (opts.subject !== undefined) payload.sub = opts.subject;
    if (opts.audience !== undefined) payload.aud = opts.audience;
    return this.signer.sign(payload);
  }
}

/** An issuer entry trusting the dev issuer through its static JWKS: verification needs no network. */
export function devIssuerConfig(dev: DevIssuer, options: { id?: string; audiences?: string[] } = {}): IssuerConfig {
  return {
    id: options.id ?? 'dev',
    issuer: dev.issuer,
    audiences: options.audiences ?? [DEV_ISSUER_DEFAULT_AUDIENCE],
    algorithms: ['ES256'],
    jwks: dev.jwks(),
    discovery: false,
  };
}
