/**
 * Proves the e2e harness on its own (no broker): a real distribution 2.8.2
 * registry with token auth, a daemon-less OCI image, and the real skopeo. A tiny
 * in-test token server stands in for Portcullis so the whole chain is exercised.
 */
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOciImage } from '../helpers/oci.js';
import type { OciImage } from '../helpers/oci.js';
import { freePort } from '../helpers/ports.js';
import { requireBinary, runProcess } from '../helpers/processes.js';
import { startRegistry } from '../helpers/registry.js';
import type { RunningRegistry } from '../helpers/registry.js';
import {
  copyFromRegistry,
  copyToRegistry,
  deleteImage,
  inspectDigest,
  login,
  skopeo,
  writeAuthFile,
} from '../helpers/skopeo.js';

const SERVICE = 'harness-registry';
const ISSUER = 'harness-token-issuer';
const GOOD = { username: 'ci-bot', password: 's3cret-pass' };
const REFRESH_TOKEN = 'harness-refresh-token-123';

// ---------- signing key, certificate and libtrust kid ----------

/** libtrust key ID: SHA-256 of the SPKI DER, first 30 bytes, RFC 4648 base32, 12 groups of 4. */
function libtrustKid(key: KeyObject): string {
  const digest = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)?.join(':') ?? '';
}

interface SigningMaterial {
  privateKey: KeyObject;
  kid: string;
  certPem: string;
}

/**
 * Self-signed P-256 certificate via the openssl CLI. (@peculiar/x509 needs a
 * Reflect metadata polyfill that the project does not ship, and the harness
 * should not depend on the broker's own key code anyway.)
 */
async function makeSigningMaterial(): Promise<SigningMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-key-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    const openssl = requireBinary('openssl');
    const result = await runProcess(openssl, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=portcullis harness',
    ], { timeoutMs: 15_000 });
    if (result.code !== 0) throw new Error(`openssl req failed: ${result.stderr}`);
    const privateKey = createPrivateKey(await readFile(keyPath, 'utf8'));
    return { privateKey, kid: libtrustKid(createPublicKey(privateKey)), certPem: await readFile(certPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------- tiny token server ----------

interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

interface SeenRequest {
  method: string;
  params: URLSearchParams;
  basicUser: string | undefined;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function signJwt(material: SigningMaterial, claims: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid: material.kid }));
  const payload = b64url(JSON.stringify(claims));
  // Registries want raw r||s (64 bytes), not Node's default DER.
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: material.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${b64url(signature)}`;
}

/** Naive split is enough here: the test never sends hosts with ports in scopes. */
function fullAccess(scopes: string[]): AccessEntry[] {
  return scopes.flatMap((s) => s.split(' ')).flatMap((s) => {
    const first = s.indexOf(':');
    const last = s.lastIndexOf(':');
    if (first <= 0 || last <= first) return [];
    return [{ type: s.slice(0, first), name: s.slice(first + 1, last), actions: ['*'] }];
  });
}

interface TinyTokenServer {
  realm: string;
  seen: SeenRequest[];
  /** Mutate to make the next tokens carry a wrong `iss` (the registry must reject them). */
  issuer: string;
  close(): Promise<void>;
}

function basicUser(req: IncomingMessage): { user: string; pass: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function startTinyTokenServer(material: SigningMaterial): Promise<TinyTokenServer> {
  const state: TinyTokenServer = { realm: '', seen: [], issuer: ISSUER, close: async () => {} };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const params = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    const basic = basicUser(req);
    state.seen.push({ method: req.method ?? '', params, basicUser: basic?.user });
    const authorized =
      req.method === 'POST'
        ? params.get('grant_type') === 'refresh_token' && params.get('refresh_token') === REFRESH_TOKEN
        : basic?.user === GOOD.username && basic.pass === GOOD.password;
    if (url.pathname !== '/token' || !authorized) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(material, {
      iss: state.issuer,
      sub: GOOD.username,
      aud: params.get('service') ?? '',
      exp: now + 300,
      nbf: now - 5,
      iat: now,
      jti: randomUUID(),
      access: fullAccess(params.getAll('scope')),
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

// ---------- tests ----------

let material: SigningMaterial;
let workDir: string;

beforeAll(async () => {
  material = await makeSigningMaterial();
  workDir = await mkdtemp(join(tmpdir(), 'portcullis-harness-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

it('computes the libtrust kid of the jwt.md example key', () => {
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: 'm7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q',
      y: 'dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc',
    },
    format: 'jwk',
  });
  expect(libtrustKid(key)).toBe('PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6');
});

describe('registry whose realm is a closed port', () => {
  let registry: RunningRegistry;
  let realm: string;
  let image: OciImage;

  beforeAll(async () => {
    realm = `http://127.0.0.1:${await freePort()}/token`;
    registry = await startRegistry({ realm, service: SERVICE, issuer: ISSUER, rootCertBundle: material.certPem });
    image = await buildOciImage(join(workDir, 'closed-realm'), { tag: 'v1' });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('challenges GET /v2/ with the configured realm and service', async () => {
    const res = await fetch(`${registry.url}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${realm}",service="${SERVICE}"`);
    expect(await res.json()).toMatchObject({ errors: [{ code: 'UNAUTHORIZED' }] });
  });

  it('asks for registry:catalog:* on GET /v2/_catalog', async () => {
    const res = await fetch(`${registry.url}/v2/_catalog`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer realm="${realm}",service="${SERVICE}",scope="registry:catalog:*"`,
    );
  });

  it('rejects a bearer token signed by an untrusted key with invalid_token', async () => {
    const stranger = await makeSigningMaterial();
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(stranger, {
      iss: ISSUER, sub: 'x', aud: SERVICE, exp: now + 60, nbf: now, iat: now, jti: randomUUID(), access: [],
    });
    const res = await fetch(`${registry.url}/v2/`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('builds an OCI layout that skopeo and tar accept', async () => {
    expect(await inspectDigest(image.ref)).toBe(image.manifestDigest);
    const layer = join(image.layoutDir, 'blobs', 'sha256', image.layerDigest.slice('sha256:'.length));
    const listing = await runProcess('tar', ['-tzvf', layer]);
    expect(listing.code, listing.stderr).toBe(0);
    expect(listing.stdout).toMatch(/hello\.txt/);
  });

  it('fails a push promptly when the token endpoint is unreachable', async () => {
    const started = Date.now();
    const result = await copyToRegistry(image.ref, registry.host, 'harness/closed', 'v1', GOOD, { timeoutMs: 60_000 });
    expect(result.timedOut).toBe(false);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/connection refused/i);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('keeps the registry output for diagnostics', () => {
    expect(registry.logs()).toMatch(/listening on 127\.0\.0\.1:\d+/);
  });
});

describe('registry with a tiny token server', () => {
  let registry: RunningRegistry;
  let tokens: TinyTokenServer;
  let image: OciImage;

  beforeAll(async () => {
    tokens = await startTinyTokenServer(material);
    registry = await startRegistry({ realm: tokens.realm, service: SERVICE, issuer: ISSUER, rootCertBundle: material.certPem });
    image = await buildOciImage(join(workDir, 'src'), {
      tag: 'v1',
      files: { 'etc/motd': 'portcullis harness\n', 'app/run.sh': '#!/bin/sh\necho ok\n' },
    });
  });

  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
  });

  it('reports an authentication error (not a hang) for bogus credentials', async () => {
    const result = await copyToRegistry(image.ref, registry.host, 'harness/app', 'v1', { username: 'bogus', password: 'nope' });
    expect(result.timedOut).toBe(false);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/401|unauthorized|authentication required/i);
    expect(tokens.seen.some((r) => r.basicUser === 'bogus' && r.params.get('account') === 'bogus')).toBe(true);
  });

  it('pushes, inspects and pulls back the image with matching digests', async () => {
    tokens.seen.length = 0;
    const pushed = await copyToRegistry(image.ref, registry.host, 'harness/app', 'v1', GOOD);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.digest).toBe(image.manifestDigest);

    // skopeo asks for pull,push on the destination, with the service from the /v2/ challenge.
    const pushRequest = tokens.seen.find((r) => r.params.getAll('scope').includes('repository:harness/app:pull,push'));
    expect(pushRequest?.params.get('service')).toBe(SERVICE);
    expect(pushRequest?.basicUser).toBe(GOOD.username);

    expect(await inspectDigest(`docker://${registry.host}/harness/app:v1`, GOOD)).toBe(image.manifestDigest);

    const back = join(workDir, 'pulled');
    const pulled = await copyFromRegistry(registry.host, 'harness/app', 'v1', back, 'copy', GOOD);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(await inspectDigest(`oci:${back}:copy`)).toBe(image.manifestDigest);
    const blob = (dir: string): Promise<Buffer> => readFile(join(dir, 'blobs', 'sha256', image.layerDigest.slice(7)));
    expect((await blob(back)).equals(await blob(image.layoutDir))).toBe(true);
  });

  it('uses credentials stored by skopeo login', async () => {
    const authFile = join(workDir, 'login', 'auth.json');
    const loggedIn = await login(registry.host, GOOD, { authFile });
    expect(loggedIn.code, loggedIn.stderr).toBe(0);
    const stored = JSON.parse(await readFile(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(stored.auths[registry.host]?.auth ?? '', 'base64').toString()).toBe(`${GOOD.username}:${GOOD.password}`);

    expect(await inspectDigest(`docker://${registry.host}/harness/app:v1`, undefined, { authFile })).toBe(image.manifestDigest);
    // Without any auth file the same inspect gets no token.
    await expect(inspectDigest(`docker://${registry.host}/harness/app:v1`)).rejects.toThrow(/401|unauthorized|authentication required/i);
  });

  it('refreshes with an identitytoken from the auth file (POST) and deletes the image', async () => {
    const authFile = join(workDir, 'refresh', 'auth.json');
    await writeAuthFile(authFile, registry.host, { identityToken: REFRESH_TOKEN });
    tokens.seen.length = 0;
    const ref = `docker://${registry.host}/harness/app:v1`;
    const deleted = await deleteImage(ref, undefined, { authFile });
    expect(deleted.code, deleted.stderr).toBe(0);

    const post = tokens.seen.find((r) => r.method === 'POST');
    expect(post?.params.get('grant_type')).toBe('refresh_token');
    expect(post?.params.get('client_id')).toBe('containers/image');
    expect(post?.params.getAll('scope')).toContain('repository:harness/app:*');

    const after = await skopeo(['inspect', '--tls-verify=false', ref], { authFile });
    expect(after.code).not.toBe(0);
    expect(after.stderr).toMatch(/manifest unknown|not found/i);
  });

  it('fails the push when the token carries a wrong issuer', async () => {
    tokens.issuer = `${ISSUER}/`;
    try {
      const result = await copyToRegistry(image.ref, registry.host, 'harness/other', 'v1', GOOD);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/401|unauthorized|authentication required/i);
      expect(registry.logs()).toMatch(/token from untrusted issuer/);
    } finally {
      tokens.issuer = ISSUER;
    }
  });
});

describe('startRegistry failures', () => {
  it('throws with the registry output when the root bundle is unusable', async () => {
    await expect(
      startRegistry({ realm: 'http://127.0.0.1:1/token', service: SERVICE, issuer: ISSUER, rootCertBundle: 'not a pem\n' }),
    ).rejects.toThrow(/exited during startup[\s\S]*registry output[\s\S]*certificate/i);
  });

  it('throws (so tests fail, not skip) when docker-registry is not installed', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(workDir, 'empty-bin');
    try {
      await expect(
        startRegistry({ realm: 'http://127.0.0.1:1/token', service: SERVICE, issuer: ISSUER, rootCertBundle: material.certPem }),
      ).rejects.toThrow(/"docker-registry" not found[\s\S]*apt-get install/);
    } finally {
      process.env.PATH = path;
    }
  });
});
