/**
 * DEVELOPMENT ONLY: a local OIDC issuer for trying Portcullis without a CI provider.
 * Anyone who can read `dev-issuer-key.pem` can mint identities for it; never trust it in production.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IssuerConfig, JwksDocument } from '../identity/issuer-registry.js';

export const DEV_ISSUER_KEY_FILE = 'dev-issuer-key.pem';
export const DEV_ISSUER_DEFAULT_AUDIENCE = 'portcullis';
export const DEV_ISSUER_DEFAULT_SUBJECT = 'dev:developer';

export interface DevMintOptions {
  audience?: string;
  /** Default 300 s. */
  lifetimeSeconds?: number;
  subject?: string;
}

async function loadOrCreateKey(path: string, create: boolean): Promise<KeyObject> {
  try {
    await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // A dry run (`config check`) uses a throwaway key and leaves the data dir alone.
    if (!create) return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    try {
      // 'wx' creates the file only if absent, so two processes starting together keep one key.
      await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
    }
  }
  if (process.platform !== 'win32' && ((await stat(path)).mode & 0o077) !== 0) {
    throw new Error(`${path} is readable by other users; run chmod 600 on it`);
  }
  const key = createPrivateKey(await readFile(path));
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${path} is not an EC P-256 private key`);
  }
  return key;
}

export class DevIssuer {
  private constructor(
    readonly issuer: string,
    private readonly privateKey: KeyObject,
    private readonly publicJwk: Readonly<Record<string, unknown>>,
    readonly kid: string,
  ) {}

  /** Open (or create, once) the development issuer whose key lives in `dataDir`. */
  /** `create: false` (a dry run) writes nothing: without a key file it uses a throwaway key. */
  static async open(dataDir: string, issuerUrl: string, options: { create?: boolean } = {}): Promise<DevIssuer> {
    const issuer = issuerUrl.replace(/\/+$/, '');
    if (!URL.canParse(issuer)) throw new Error(`dev issuer URL ${issuerUrl} is not an absolute URL`);
    const create = options.create ?? true;
    if (create) await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const privateKey = await loadOrCreateKey(join(dataDir, DEV_ISSUER_KEY_FILE), create);
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    // RFC 7638 thumbprint: stable across restarts, changes only with the key.
    const thumbprint = createHash('sha256')
      .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
      .digest('base64url');
    const kid = `dev-${thumbprint}`;
    const publicJwk = Object.freeze({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' });
    return new DevIssuer(issuer, privateKey, publicJwk, kid);
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
    const header = { alg: 'ES256', typ: 'JWT', kid: this.kid };
    const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${signature.toString('base64url')}`;
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
