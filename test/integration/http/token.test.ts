import { createPublicKey, createHmac, verify as cryptoVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer, githubActionsClaims } from '../../helpers/issuer.js';
import { basic, decodeJwt, startBroker, type TestBroker } from '../../helpers/broker.js';

const SERVICE = 'test-registry';
const AUD = 'https://portcullis.test';

let issuer: TestIssuer;
let other: TestIssuer;
let broker: TestBroker;

const policy = (iss: string) => ({
  version: 1,
  rules: [
    {
      id: 'owner-65-push',
      effect: 'allow',
      issuer: iss,
      when: { repository_owner_id: '65' },
      grants: [{ repository: 'team/**', actions: ['pull', 'push'] }],
    },
    {
      id: 'admin',
      effect: 'allow',
      issuer: iss,
      when: { repository_owner_id: '1' },
      grants: [{ repository: 'team/**', actions: ['*'] }, { registry: 'catalog' }],
    },
    {
      id: 'public-read',
      effect: 'allow',
      anonymous: true,
      grants: [{ repository: 'public/**', actions: ['pull'] }],
    },
  ],
});

beforeAll(async () => {
  issuer = await TestIssuer.start();
  other = await TestIssuer.start();
  broker = await startBroker({
    issuers: [{ id: 'ci', issuer: issuer.issuer, audiences: [AUD], algorithms: ['RS256', 'ES256'], maxTokenAge: 3600 }],
    policy: policy(issuer.issuer),
    services: [SERVICE, 'other-registry'],
  });
});

afterAll(async () => {
  await broker?.stop();
  await issuer?.close();
  await other?.close();
});

const mint = (claims: Record<string, unknown> = {}, opts: Parameters<TestIssuer['mint']>[1] = {}) =>
  issuer.mint(githubActionsClaims(claims), { audience: AUD, subject: 'repo:octo-org/octo-repo:ref:refs/heads/main', ...opts });

async function get(query: string, auth?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${broker.url}/token?${query}`, auth ? { headers: { authorization: auth } } : {});
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function post(form: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${broker.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

function errorCode(body: Record<string, unknown>): string | undefined {
  return (body.errors as { code: string }[] | undefined)?.[0]?.code;
}

describe('GET /token (conformance §7)', () => {
  it('7.2: no scope → 200, token == access_token, integer expires_in ≥ 60, issued_at == iat, exp == iat + expires_in, aud a string, access []', async () => {
    const { status, body } = await get(`service=${SERVICE}&account=oidc&offline_token=true&client_id=docker`, basic('oidc', await mint()));
    expect(status).toBe(200);
    expect(body.token).toBe(body.access_token);
    expect(Number.isInteger(body.expires_in)).toBe(true);
    expect(body.expires_in as number).toBeGreaterThanOrEqual(60);
    const { header, payload, signature } = decodeJwt(body.token as string);
    expect(Date.parse(body.issued_at as string) / 1000).toBe(payload.iat);
    expect(payload.exp).toBe((payload.iat as number) + (body.expires_in as number));
    expect(typeof payload.aud).toBe('string');
    expect(payload.aud).toBe(SERVICE);
    expect(payload.iss).toBe('portcullis-test');
    expect(payload.access).toEqual([]);
    expect(payload.sub).toBe('repo:octo-org/octo-repo:ref:refs/heads/main');
    // 7.8: ES256 signature is 64 raw bytes and alg matches the key
    expect(header.alg).toBe('ES256');
    expect(header.typ).toBe('JWT');
    expect(signature.length).toBe(64);
    // refresh tokens are only issued once the refresh grant exists (P15)
    expect(body).not.toHaveProperty('refresh_token');
  });

  it('signs with a key published at /.well-known/jwks.json', async () => {
    const { body } = await get(`service=${SERVICE}`, basic('oidc', await mint()));
    const { header } = decodeJwt(body.token as string);
    const jwks = (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    expect(jwk).toBeDefined();
    expect(jwk).not.toHaveProperty('d');
    const [h, p, s] = (body.token as string).split('.');
    const ok = cryptoVerify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
      Buffer.from(s as string, 'base64url'),
    );
    expect(ok).toBe(true);
  });

  it('7.3: parses a scope with host:port and a repository(plugin) scope; writes type "repository"', async () => {
    const { status, body } = await get(
      `service=${SERVICE}&scope=${encodeURIComponent('repository:127.0.0.1:5000/team/app:pull')}&scope=${encodeURIComponent('repository(plugin):team/plugin:pull')}`,
      basic('oidc', await mint()),
    );
    expect(status).toBe(200);
    const access = decodeJwt(body.token as string).payload.access as { type: string; name: string; actions: string[] }[];
    expect(access).toEqual([
      { type: 'repository', name: '127.0.0.1:5000/team/app', actions: [] },
      { type: 'repository', name: 'team/plugin', actions: ['pull'] },
    ]);
  });

  it('7.4: partial grant → 200 with the granted subset; no grant → empty actions', async () => {
    const reader = await mint({ repository_owner_id: '65' });
    const { status, body } = await get(
      `service=${SERVICE}&scope=repository:team/app:push,pull,delete&scope=repository:elsewhere/app:pull`,
      basic('oidc', reader),
    );
    expect(status).toBe(200);
    expect(decodeJwt(body.token as string).payload.access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['push', 'pull'] },
      { type: 'repository', name: 'elsewhere/app', actions: [] },
    ]);
  });

  it('7.5: registry:catalog:* for an admin → ["*"]; repository:x:* with full rights → ["*"]; with partial rights → the explicit set', async () => {
    const admin = await mint({ repository_owner_id: '1' });
    const { body } = await get(`service=${SERVICE}&scope=${encodeURIComponent('registry:catalog:*')}&scope=${encodeURIComponent('repository:team/app:*')}`, basic('oidc', admin));
    expect(decodeJwt(body.token as string).payload.access).toEqual([
      { type: 'registry', name: 'catalog', actions: ['*'] },
      { type: 'repository', name: 'team/app', actions: ['*'] },
    ]);
    const pusher = await mint({ repository_owner_id: '65' });
    const partial = await get(`service=${SERVICE}&scope=${encodeURIComponent('repository:team/app:*')}&scope=${encodeURIComponent('registry:catalog:*')}`, basic('oidc', pusher));
    expect(decodeJwt(partial.body.token as string).payload.access).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: [] },
    ]);
  });

  it('anonymous requests get only what the policy grants to anonymous', async () => {
    const { status, body } = await get(`service=${SERVICE}&scope=repository:public/base:pull,push&scope=repository:team/app:pull`);
    expect(status).toBe(200);
    const { payload } = decodeJwt(body.token as string);
    expect(payload.sub).toBe('');
    expect(payload.access).toEqual([
      { type: 'repository', name: 'public/base', actions: ['pull'] },
      { type: 'repository', name: 'team/app', actions: [] },
    ]);
  });

  it('returns a decision id and no-store caching', async () => {
    const { headers } = await get(`service=${SERVICE}`, basic('oidc', await mint()));
    expect(headers.get('x-portcullis-decision')).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    expect(headers.get('cache-control')).toBe('no-store');
  });
});

describe('refusals', () => {
  async function expect401(token: string, reason: string): Promise<void> {
    const { status, body } = await get(`service=${SERVICE}&scope=repository:team/app:pull`, basic('oidc', token));
    expect(status).toBe(401);
    expect(errorCode(body)).toBe('UNAUTHORIZED');
    expect(body).not.toHaveProperty('token');
    expect((body.errors as { detail: { reason: string } }[])[0]?.detail.reason).toBe(reason);
  }

  it('7.6: bad Basic credentials → 401 in the registry error format, never an anonymous token (P18)', async () => {
    const { status, body, headers } = await get(`service=${SERVICE}`, basic('oidc', 'not-a-token'));
    expect(status).toBe(401);
    expect(errorCode(body)).toBe('UNAUTHORIZED');
    expect(headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await get(`service=${SERVICE}`, 'Basic !!!')).status).toBe(401);
    expect((await get(`service=${SERVICE}`, 'Bearer abc')).status).toBe(401);
    expect((await post(`grant_type=password&service=${SERVICE}&client_id=x&username=oidc&password=nope`)).status).toBe(401);
  });

  it('an untrusted issuer is refused without any request to it', async () => {
    other.resetCounts();
    const token = await other.mint(githubActionsClaims(), { audience: AUD });
    await expect401(token, 'untrusted_issuer');
    expect(other.count()).toBe(0);
  });

  it('an expired token is refused', async () => {
    await expect401(await mint({}, { now: Math.floor(Date.now() / 1000) - 1000, lifetimeSeconds: 300 }), 'expired');
  });

  it('a token not yet valid is refused', async () => {
    await expect401(await mint({ nbf: Math.floor(Date.now() / 1000) + 600 }), 'not_yet_valid');
  });

  it('a token for another audience (another relying party) is refused', async () => {
    await expect401(await mint({}, { audience: 'https://github.com/octo-org' }), 'wrong_audience');
  });

  it('a tampered payload is refused', async () => {
    const [h, , s] = (await mint({ repository_owner_id: '65' })).split('.');
    const forged = Buffer.from(JSON.stringify({ ...githubActionsClaims({ repository_owner_id: '1' }), iss: issuer.issuer, aud: AUD, exp: 9999999999, iat: Math.floor(Date.now() / 1000) })).toString('base64url');
    await expect401(`${h}.${forged}.${s}`, 'bad_signature');
  });

  it('alg none is refused', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ ...githubActionsClaims(), iss: issuer.issuer, aud: AUD, exp: 9999999999, iat: Math.floor(Date.now() / 1000) })).toString('base64url');
    await expect401(`${header}.${payload}.`, 'unsupported_alg');
  });

  it('HS256 signed with the issuer’s public key as the secret is refused', async () => {
    const jwk = issuer.publicJwk('RS256');
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: jwk.kid })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ ...githubActionsClaims(), iss: issuer.issuer, aud: AUD, exp: 9999999999, iat: Math.floor(Date.now() / 1000) })).toString('base64url');
    const sig = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
    await expect401(`${header}.${payload}.${sig}`, 'unsupported_alg');
  });

  it('the raw ID token never appears in the logs', async () => {
    const token = await mint({ repository_owner_id: '65' });
    await get(`service=${SERVICE}&scope=repository:team/app:pull`, basic('oidc', token));
    await get(`service=${SERVICE}&scope=repository:team/app:pull`, basic('oidc', `${token}x`));
    const all = broker.logs.join('\n');
    const records = broker.logs.map((l) => JSON.parse(l) as { msg: string; audit?: { tokenHash?: string; decision: string } });
    expect(records.some((r) => r.msg === 'token issued' && r.audit?.tokenHash?.length === 16)).toBe(true);
    expect(records.some((r) => r.msg === 'token refused' && r.audit?.tokenHash?.length === 16 && r.audit.decision.length > 8)).toBe(true);
    expect(all).not.toContain(token);
    expect(all).not.toContain(token.split('.')[2]);
  });
});

describe('request validation', () => {
  it('unknown service → 400 UNKNOWN_SERVICE; missing service → 400 naming the field', async () => {
    const unknown = await get('service=elsewhere', basic('oidc', await mint()));
    expect(unknown.status).toBe(400);
    expect(errorCode(unknown.body)).toBe('UNKNOWN_SERVICE');
    const missing = await get('scope=repository:a:pull');
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('service');
  });

  it('a malformed scope → 400 naming the scope', async () => {
    const { status, body } = await get(`service=${SERVICE}&scope=repository:Team/App:pull`, basic('oidc', await mint()));
    expect(status).toBe(400);
    expect(errorCode(body)).toBe('INVALID_SCOPE');
    expect(JSON.stringify(body)).toContain('repository:Team/App:pull');
  });

  it('account must match the Basic user when both are present (P23)', async () => {
    const { status } = await get(`service=${SERVICE}&account=someone-else`, basic('oidc', await mint()));
    expect(status).toBe(400);
  });

  it('a repeated single-valued parameter is refused', async () => {
    const { status } = await get(`service=${SERVICE}&service=other-registry`);
    expect(status).toBe(400);
  });

  it('a token minted for one service cannot be used for another', async () => {
    const { body } = await get(`service=other-registry&scope=repository:team/app:pull`, basic('oidc', await mint({ repository_owner_id: '65' })));
    expect(decodeJwt(body.token as string).payload.aud).toBe('other-registry');
  });

  it('unknown routes are 404 in the registry error format', async () => {
    const res = await fetch(`${broker.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: unknown[] }).errors).toHaveLength(1);
  });
});

describe('POST /token (OAuth2 form)', () => {
  it('grant_type=password with the ID token as password; docker-style "+"-joined scope; response has access_token, scope, expires_in', async () => {
    const token = await mint({ repository_owner_id: '65' });
    const { status, body } = await post(
      `grant_type=password&service=${SERVICE}&client_id=docker&username=oidc&password=${token}&scope=repository%3Ateam%2Fa%3Apull+repository%3Ateam%2Fb%3Apush`,
    );
    expect(status).toBe(200);
    expect(body.access_token).toBe(body.token);
    expect(body.scope).toBe('repository:team/a:pull repository:team/b:push');
    expect(Number.isInteger(body.expires_in)).toBe(true);
    expect(body.token_type).toBe('Bearer');
  });

  it('repeated scope fields (containers/image) are all read', async () => {
    const token = await mint({ repository_owner_id: '65' });
    const { body } = await post(`grant_type=password&service=${SERVICE}&client_id=containers/image&username=oidc&password=${token}&scope=repository:team/a:pull&scope=repository:team/b:pull`);
    expect(body.scope).toBe('repository:team/a:pull repository:team/b:pull');
  });

  it('realm query parameters are merged into the form', async () => {
    const token = await mint({ repository_owner_id: '65' });
    const res = await fetch(`${broker.url}/token?service=${SERVICE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=password&client_id=x&username=oidc&password=${token}`,
    });
    expect(res.status).toBe(200);
  });

  it('missing or unsupported grant_type → 400 naming it', async () => {
    const missing = await post(`service=${SERVICE}`);
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('grant_type');
    const bad = await post(`grant_type=authorization_code&service=${SERVICE}`);
    expect(bad.status).toBe(400);
    expect(errorCode(bad.body)).toBe('UNSUPPORTED');
  });

  it('a non-form body → 415; an oversized body → 413; neither crashes', async () => {
    const json = await fetch(`${broker.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const big = await post(`grant_type=password&service=${SERVICE}&password=${'a'.repeat(70 * 1024)}`);
    expect(big.status).toBe(413);
    expect(errorCode(big.body)).toBe('PAYLOAD_TOO_LARGE');
  });
});
