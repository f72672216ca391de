/**
 * People sign in (issue 12), end to end with real components: the company's
 * provider is the real `oidc-provider` with its own sign-in and consent pages,
 * the person is Debian's chromium driven by playwright-core, the registry is
 * Debian's docker-registry, the client skopeo, the store a real redis-server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { basic, decodeJwt, startBroker, type TestBroker } from '../helpers/broker.js';
import { signInAtCompanyIdp, startCompanyIdp, type CompanyIdp } from '../helpers/company-idp.js';
import { launchChromium, type TestBrowser } from '../helpers/chromium.js';
import { startRegistryFor, type RunningRegistry } from '../helpers/registry.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { buildOciImage, type OciImage } from '../helpers/oci.js';
import { copyToRegistry } from '../helpers/skopeo.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

const SERVICE = 'login-registry';
const CLIENT_ID = 'portcullis-broker';
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const IMAGES = path.resolve('docs/images');
const ADMIN_TOKEN = randomBytes(24).toString('base64url');

const USERS = [
  { sub: 'u-alice', password: 'alice-pass', name: 'Alice Example', email: 'alice@example.com', emailVerified: true, groups: ['team-web'] },
  // Bob's address is not verified: a rule on bob@example.com must not apply to him.
  { sub: 'u-bob', password: 'bob-pass', name: 'Bob Unverified', email: 'bob@example.com', emailVerified: false, groups: ['team-ops'] },
];

describe('people sign in with the browser', () => {
  let work: string;
  let redis: RedisServer;
  let idp: CompanyIdp;
  let broker: TestBroker;
  let registry: RunningRegistry;
  let image: OciImage;
  let browser: TestBrowser;
  let page: Page;
  const callbackUrls: string[] = [];
  let publicClientPort = 0;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'portcullis-e2e-login-'));
    redis = await startRedis();
    const brokerPort = await freePort();
    publicClientPort = await freePort();
    idp = await startCompanyIdp({
      users: USERS,
      clients: [
        { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`http://127.0.0.1:${brokerPort}/login/callback`] },
        // A public client: no secret, PKCE only.
        { clientId: 'portcullis-public', redirectUris: [`http://127.0.0.1:${publicClientPort}/login/callback`] },
      ],
    });
    process.env.LOGIN_E2E_ADMIN_TOKEN = ADMIN_TOKEN;
    const secretFile = path.join(work, 'client-secret');
    await writeFile(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
    broker = await startBroker({
      policy: {
        version: 1,
        rules: [
          { id: 'people-read', effect: 'allow', issuer: '$corp', grants: [{ repository: 'team/**', actions: ['pull'] }] },
          { id: 'alice-web', effect: 'allow', issuer: '$corp', when: { email: 'alice@example.com' }, grants: [{ repository: 'team/web/*', actions: ['pull', 'push'] }] },
          { id: 'bob-own', effect: 'allow', issuer: '$corp', when: { email: 'bob@example.com' }, grants: [{ repository: 'team/bob/*', actions: ['pull', 'push'] }] },
        ],
      },
      services: [SERVICE],
      port: brokerPort,
      extra: {
        store: { type: 'redis', url: redis.url, keyPrefix: 'e2e-login:' },
        admin: { enabled: true, token: { env: 'LOGIN_E2E_ADMIN_TOKEN' } },
        login: {
          brokerName: 'Example Corp Registry',
          providers: [
            {
              id: 'corp',
              name: 'Example Corp SSO',
              issuer: idp.issuer,
              clientId: CLIENT_ID,
              clientSecret: { file: secretFile },
              scopes: ['openid', 'email', 'profile', 'groups'],
              groupsClaim: 'groups',
            },
          ],
          registries: ['registry.example.com'],
          device: { codeLifetime: 20, interval: 1, maxUserCodeAttempts: 3 },
        },
      },
    });
    registry = await startRegistryFor(broker, SERVICE);
    image = await buildOciImage(path.join(work, 'image'), { files: { 'hello.txt': 'signed in as a person\n' }, tag: 'v1' });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('request', (r) => {
      if (r.url().startsWith(`${broker.url}/login/callback`)) callbackUrls.push(r.url());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await registry?.stop();
    await broker?.stop();
    await idp?.close();
    await redis?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function shoot(p: Page, name: string): Promise<void> {
    for (const width of [1280, 390]) {
      await p.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      await p.screenshot({ path: path.join(IMAGES, `${name}-${width}.png`), fullPage: true });
    }
    await p.setViewportSize({ width: 1280, height: 900 });
  }

  function cookieHeader(): Promise<string> {
    return browser.context.cookies(broker.url).then((cs) => cs.map((c) => `${c.name}=${c.value}`).join('; '));
  }

  const postForm = (pathname: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${broker.url}${pathname}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });

  let firstCode = '';

  it('signs in at the provider in chromium and lands on the result page with what the policy grants', async () => {
    await page.goto(`${broker.url}/login`);
    expect(new URL(page.url()).origin).toBe(idp.issuer);
    await signInAtCompanyIdp(page, 'u-alice', 'alice-pass');
    await page.waitForURL(`${broker.url}/login/result**`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You are signed in, Alice Example');
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('You may pull team/** and team/web/*, and push team/web/*.');
    expect(text).toContain('alice@example.com');
    expect(text).toContain('team-web');
    expect(await page.title()).toContain('Example Corp Registry');
    firstCode = await page.inputValue('#code');
    expect(firstCode).toMatch(/^pco_[A-Za-z0-9_-]{43}$/);
    await shoot(page, 'login-result');
  });

  it('announces the login endpoints at /.well-known/portcullis', async () => {
    const res = await fetch(`${broker.url}/.well-known/portcullis`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      broker: broker.url,
      token_endpoint: `${broker.url}/token`,
      services: [SERVICE],
      registries: ['registry.example.com'],
      login: {
        authorization_endpoint: `${broker.url}/login/cli`,
        device_authorization_endpoint: `${broker.url}/login/device/code`,
        token_endpoint: `${broker.url}/login/token`,
        revocation_endpoint: `${broker.url}/login/revoke`,
        providers: [{ id: 'corp', name: 'Example Corp SSO' }],
      },
    });
  });

  it('pushes an image with skopeo using the one-time code as the password', async () => {
    const pushed = await copyToRegistry(image.ref, registry.host, 'team/web/app', 'v1', { username: 'oidc', password: firstCode });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.digest).toBe(image.manifestDigest);
  });

  it('refuses the same code a second time, with a message and no token', async () => {
    const again = await fetch(`${broker.url}/token?service=${SERVICE}&scope=repository:team/web/app:pull`, { headers: { authorization: basic('oidc', firstCode) } });
    expect(again.status).toBe(401);
    const body = (await again.json()) as { token?: string; errors: { message: string }[] };
    expect(body.token).toBeUndefined();
    expect(body.errors[0]?.message).toMatch(/unknown, expired or was already used/);
  });

  it('policy explain works for people: the running policy resolves `issuer: $corp` to the provider', async () => {
    const res = await fetch(`${broker.url}/admin/explain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ issuer: idp.issuer, claims: { sub: 'u-alice', email: 'alice@example.com', email_verified: true }, scopes: ['repository:team/web/app:pull,push'] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { decision: { access: unknown[]; matchedRules: string[] }; text: string };
    expect(body.decision.access).toEqual([{ type: 'repository', name: 'team/web/app', actions: ['pull', 'push'] }]);
    expect(body.decision.matchedRules).toEqual(['people-read', 'alice-web']);
  });

  let dockerRefresh = '';

  it('a code used by `docker login` (offline_token=true) returns a refresh token that keeps working', async () => {
    await page.goto(`${broker.url}/login/result`);
    const code = await page.inputValue('#code');
    expect(code).not.toBe(firstCode);
    const login = await fetch(`${broker.url}/token?account=oidc&client_id=docker&offline_token=true&service=${SERVICE}`, { headers: { authorization: basic('oidc', code) } });
    expect(login.status).toBe(200);
    dockerRefresh = ((await login.json()) as { refresh_token: string }).refresh_token;
    expect(dockerRefresh).toMatch(/^pcr_/);
    const refreshed = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: dockerRefresh, service: SERVICE, scope: 'repository:team/web/app:pull,push', client_id: 'docker' }),
    });
    expect(refreshed.status).toBe(200);
    const token = ((await refreshed.json()) as { access_token: string }).access_token;
    expect(decodeJwt(token).payload.access).toEqual([{ type: 'repository', name: 'team/web/app', actions: ['pull', 'push'] }]);
  });

  it('the code also works once as the password of the OAuth2 password grant (POST /token)', async () => {
    await page.reload();
    const code = await page.inputValue('#code');
    const form = { grant_type: 'password', username: 'oidc', password: code, service: SERVICE, scope: 'repository:team/web/app:pull', client_id: 'podman' };
    const first = await postForm('/token', form);
    expect(first.status).toBe(200);
    expect(decodeJwt(((await first.json()) as { access_token: string }).access_token).payload.sub).toBe('u-alice');
    const second = await postForm('/token', form);
    expect(second.status).toBe(401);
  });

  /** The CLI's side of the loopback hand-off: a listener on 127.0.0.1 that receives the redirect. */
  async function loopbackSignIn(): Promise<{ query: URLSearchParams; redirectUri: string; verifier: string; state: string }> {
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/callback`;
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = randomBytes(16).toString('base64url');
    let server: Server | undefined;
    const received = new Promise<URLSearchParams>((resolve) => {
      server = createServer((req, res) => {
        res.setHeader('content-type', 'text/plain');
        res.end('Signed in. You can close this window.');
        resolve(new URL(req.url ?? '/', redirectUri).searchParams);
      }).listen(port, '127.0.0.1');
    });
    try {
      const url = `${broker.url}/login/cli?${new URLSearchParams({ redirect_uri: redirectUri, state, code_challenge: challenge, code_challenge_method: 'S256' })}`;
      await page.goto(url);
      const query = await Promise.race([received, sleep(20_000).then(() => Promise.reject(new Error(`no loopback redirect; browser at ${page.url()}`)))]);
      return { query, redirectUri, verifier, state };
    } finally {
      server?.closeAllConnections();
      server?.close();
    }
  }

  it('loopback hand-off: a wrong PKCE verifier is refused and spends the code', async () => {
    const run = await loopbackSignIn();
    expect(run.query.get('state')).toBe(run.state);
    const code = run.query.get('code') as string;
    expect(code).toMatch(/^pco_/);
    const wrong = await postForm('/login/token', { grant_type: 'authorization_code', code, code_verifier: randomBytes(32).toString('base64url'), redirect_uri: run.redirectUri });
    expect(wrong.status).toBe(400);
    const body = (await wrong.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toMatch(/code_verifier does not match/);
    expect(body.refresh_token).toBeUndefined();
    const late = await postForm('/login/token', { grant_type: 'authorization_code', code, code_verifier: run.verifier, redirect_uri: run.redirectUri });
    expect(late.status).toBe(400);
    expect(((await late.json()) as Record<string, string>).error).toBe('invalid_grant');
  });

  let cliRefresh = '';

  it('loopback hand-off: the CLI redeems the code with its verifier for a refresh token, once', async () => {
    const run = await loopbackSignIn();
    const form = { grant_type: 'authorization_code', code: run.query.get('code') as string, code_verifier: run.verifier, redirect_uri: run.redirectUri, client_id: 'portcullis-cli' };
    const res = await postForm('/login/token', form, { 'user-agent': 'portcullis-cli/0.1 (test)' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'refresh', subject: 'u-alice', issuer: idp.issuer, service: SERVICE, name: 'Alice Example' });
    expect(body.expires_in).toBeGreaterThan(3600);
    cliRefresh = body.refresh_token as string;
    expect(cliRefresh).toMatch(/^pcr_/);
    const replay = await postForm('/login/token', form);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as Record<string, string>).error_description).toMatch(/already used/);
  });

  it('refuses a hand-off target that is not a loopback address, without redirecting', async () => {
    for (const target of ['http://evil.example:8080/callback', 'https://127.0.0.1:8080/callback', 'http://127.0.0.1.evil.example:80/cb', 'http://localhost:8080/callback']) {
      const q = new URLSearchParams({ redirect_uri: target, state: randomBytes(16).toString('base64url'), code_challenge: 'a'.repeat(43), code_challenge_method: 'S256' });
      const res = await fetch(`${broker.url}/login/cli?${q}`, { redirect: 'manual' });
      expect(res.status, target).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('loopback address');
    }
  });

  const poll = (deviceCode: string): Promise<Response> =>
    postForm('/login/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: 'portcullis-cli' });
  const startDevice = async (): Promise<Record<string, string | number>> => {
    const res = await postForm('/login/device/code', { client_id: 'portcullis-cli' });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, string | number>;
  };

  let deviceRefresh = '';

  it('device flow: pending, slow_down, approval clicked in the browser, then a refresh token once', async () => {
    const started = await startDevice();
    expect(started.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(started).toMatchObject({ verification_uri: `${broker.url}/device`, verification_uri_complete: `${broker.url}/device?user_code=${started.user_code}`, interval: 1, expires_in: 20 });
    const first = await poll(started.device_code as string);
    expect(first.status).toBe(400);
    expect(((await first.json()) as Record<string, string>).error).toBe('authorization_pending');
    const fast = await poll(started.device_code as string);
    expect(((await fast.json()) as Record<string, string>).error).toBe('slow_down');

    await page.goto(started.verification_uri_complete as string);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('A device asks to sign in as you');
    const details = (await page.textContent('main')) ?? '';
    expect(details).toContain(started.user_code as string);
    expect(details).toContain('portcullis-cli');
    expect(details).toContain('127.0.0.1');
    await shoot(page, 'device-approve');
    await page.getByRole('button', { name: 'Approve' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Device approved');

    // slow_down raised the interval to 1 + 5 s.
    await sleep(6_200);
    const approved = await poll(started.device_code as string);
    expect(approved.status).toBe(200);
    const body = (await approved.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'refresh', subject: 'u-alice', service: SERVICE, name: 'Alice Example' });
    deviceRefresh = body.refresh_token as string;
    await sleep(6_200);
    const again = await poll(started.device_code as string);
    expect(again.status).toBe(400);
    expect(((await again.json()) as Record<string, string>).error).toBe('invalid_grant');
  });

  it('device flow: a code typed in and denied gives the device access_denied and nothing else', async () => {
    const started = await startDevice();
    await page.goto(`${broker.url}/device`);
    await page.getByLabel('Code from your device').fill((started.user_code as string).toLowerCase().replace('-', ' '));
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Device refused');
    const res = await poll(started.device_code as string);
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe('access_denied');
    expect(body.refresh_token).toBeUndefined();
  });

  it('device flow across replicas: started at one broker, approved at a second on the same Redis, polled at the first', async () => {
    const second = await startBroker({
      policy: { version: 1, rules: [{ id: 'people-read', effect: 'allow', issuer: '$corp', grants: [{ repository: 'team/**', actions: ['pull'] }] }] },
      services: [SERVICE],
      extra: {
        store: { type: 'redis', url: redis.url, keyPrefix: 'e2e-login:' },
        login: { providers: [{ id: 'corp', issuer: idp.issuer, clientId: CLIENT_ID }], device: { codeLifetime: 20, interval: 1, maxUserCodeAttempts: 3 } },
      },
    });
    try {
      const started = await startDevice();
      // The person's browser session (in Redis) is valid at the other replica too.
      const cookie = await cookieHeader();
      const form = await fetch(`${second.url}/device?user_code=${started.user_code}`, { headers: { cookie } });
      expect(form.status).toBe(200);
      const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
      const approve = await fetch(`${second.url}/device`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: second.url },
        body: new URLSearchParams({ csrf, user_code: started.user_code as string, action: 'approve' }),
      });
      expect(approve.status).toBe(200);
      expect(await approve.text()).toContain('Device approved');
      const res = await poll(started.device_code as string);
      expect(res.status).toBe(200);
      expect(((await res.json()) as Record<string, string>).subject).toBe('u-alice');
    } finally {
      await second.stop();
    }
  });

  it('refuses a cross-site POST without the CSRF token, and one from another origin', async () => {
    const cookie = await cookieHeader();
    const noToken = await postForm('/login/logout', {}, { cookie });
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain('security token (CSRF)');
    await page.goto(`${broker.url}/login/sessions`);
    const csrf = await page.inputValue('input[name=csrf] >> nth=0');
    const foreign = await postForm('/login/logout', { csrf }, { cookie, origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain('cross-site request refused');
    const crossSite = await postForm('/login/logout', { csrf }, { cookie, 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    // Still signed in.
    const still = await fetch(`${broker.url}/login/sessions`, { headers: { cookie }, redirect: 'manual' });
    expect(still.status).toBe(200);
    for (const [k, v] of Object.entries({ 'content-security-policy': "frame-ancestors 'none'", 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cache-control': 'no-store' })) {
      expect(still.headers.get(k), k).toContain(v);
    }
  });

  it('refuses callbacks with a missing, unknown or replayed state, a replayed code, or from another browser', async () => {
    const missing = await fetch(`${broker.url}/login/callback?code=abc`);
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('has no &quot;state&quot;');
    const unknown = await fetch(`${broker.url}/login/callback?code=abc&state=${randomBytes(16).toString('base64url')}`);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('unknown, expired or was already completed');

    // The browser replays a callback it already completed.
    const used = callbackUrls[0] as string;
    const replay = await page.goto(used);
    expect(replay?.status()).toBe(400);
    expect(await page.textContent('main')).toContain('unknown, expired or was already completed');

    // A spent authorization code under a fresh state: the provider refuses it.
    const begin = await fetch(`${broker.url}/login`, { redirect: 'manual' });
    expect(begin.status).toBe(302);
    const flowCookie = (begin.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const state = new URL(begin.headers.get('location') as string).searchParams.get('state') as string;
    const oldCode = new URL(used).searchParams.get('code') as string;
    const spent = await fetch(`${broker.url}/login/callback?${new URLSearchParams({ code: oldCode, state, iss: idp.issuer })}`, { headers: { cookie: flowCookie }, redirect: 'manual' });
    expect(spent.status).toBe(400);
    expect(await spent.text()).toMatch(/did not accept the sign-in: invalid_grant/);
    expect(spent.headers.get('set-cookie') ?? '').not.toMatch(/portcullis_session/);

    // A callback arriving in a browser that did not start the sign-in (login CSRF).
    const other = await fetch(`${broker.url}/login`, { redirect: 'manual' });
    const otherState = new URL(other.headers.get('location') as string).searchParams.get('state') as string;
    const foreign = await fetch(`${broker.url}/login/callback?${new URLSearchParams({ code: 'x', state: otherState })}`, { redirect: 'manual' });
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('started in another browser');
  });

  it('limits user-code guessing: past the limit even the right code is refused', async () => {
    await page.goto(`${broker.url}/device`);
    // maxUserCodeAttempts: 3 wrong codes are answered as such, the fourth attempt is refused.
    for (let i = 0; i < 3; i++) {
      await page.getByLabel('Code from your device').fill('BBBB-BBBB');
      await page.getByRole('button', { name: 'Continue' }).click();
      expect(await page.textContent('[role=alert]')).toContain('no pending sign-in request has this code');
    }
    await page.getByLabel('Code from your device').fill('CCCC-CCCC');
    const blocked = page.waitForResponse((r) => r.url() === `${broker.url}/device` && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect((await blocked).status()).toBe(429);
    expect(await page.textContent('main')).toContain('too many wrong codes');
    const started = await startDevice();
    const res = await page.goto(started.verification_uri_complete as string);
    expect(res?.status()).toBe(429);
  });

  it("the sessions page lists the person's own sessions and revokes one", async () => {
    await page.goto(`${broker.url}/login/sessions`);
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(4);
    const text = (await page.textContent('tbody')) ?? '';
    expect(text).toContain('docker login');
    expect(text).toContain('browser sign-in (portcullis-cli/0.1 (test))');
    expect(text).toContain('device sign-in from 127.0.0.1');
    await shoot(page, 'sessions');
    await page.locator('tbody tr', { hasText: 'device sign-in' }).last().getByRole('button', { name: /Revoke/ }).click();
    expect(await page.textContent('[role=status]')).toContain('Session revoked');
    expect(await page.locator('tbody tr').count()).toBe(3);
    const refused = await postForm('/token', { grant_type: 'refresh_token', refresh_token: deviceRefresh, service: SERVICE });
    expect(refused.status).toBe(401);
  });

  it('POST /login/revoke (logout of the CLI) ends the session of a refresh token and always answers {}', async () => {
    const res = await postForm('/login/revoke', { token: cliRefresh });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const refused = await postForm('/token', { grant_type: 'refresh_token', refresh_token: cliRefresh, service: SERVICE });
    expect(refused.status).toBe(401);
    const unknown = await postForm('/login/revoke', { token: 'pcr_not-a-token' });
    expect(unknown.status).toBe(200);
  });

  it("an operator's `sessions revoke --subject` ends the person's refresh and browser sessions", async () => {
    const cookie = await cookieHeader();
    const revoked = await runCli(['sessions', 'revoke', '--config', broker.configPath, '--subject', 'u-alice']);
    expect(revoked.code, revoked.stderr).toBe(0);
    // docker and the second device session, plus the browser sign-in.
    expect(revoked.stdout).toBe('revoked 3 sessions\n');
    const page2 = await fetch(`${broker.url}/login/sessions`, { headers: { cookie }, redirect: 'manual' });
    expect(page2.status).toBe(302);
    expect(page2.headers.get('location')).toMatch(new RegExp(`^${idp.issuer}/`));
    for (const token of [dockerRefresh, cliRefresh]) {
      const res = await postForm('/token', { grant_type: 'refresh_token', refresh_token: token, service: SERVICE });
      expect(res.status).toBe(401);
    }
  });

  it('an unverified email does not count: Bob gets what every person gets, not the rule on his address', async () => {
    const other = await launchChromium();
    try {
      const p = await other.context.newPage();
      await p.goto(`${broker.url}/login`);
      await signInAtCompanyIdp(p, 'u-bob', 'bob-pass');
      await p.waitForURL(`${broker.url}/login/result**`);
      const text = (await p.textContent('main')) ?? '';
      expect(text).toContain('You may pull team/**.');
      expect(text).not.toContain('team/bob');
      expect(text).not.toContain('bob@example.com');
      await p.getByRole('button', { name: 'Sign out' }).click();
      expect(await p.getByRole('heading', { level: 1 }).textContent()).toBe('Signed out');
      expect((await other.context.cookies(broker.url)).find((c) => c.name === 'portcullis_session')?.value ?? '').toBe('');
    } finally {
      await other.close();
    }
  });

  it('a public client (no secret, PKCE only) signs people in as well', async () => {
    const pub = await startBroker({
      policy: { version: 1, rules: [{ id: 'people-read', effect: 'allow', issuer: '$corp', grants: [{ repository: 'team/**', actions: ['pull'] }] }] },
      services: [SERVICE],
      port: publicClientPort,
      extra: {
        store: { type: 'redis', url: redis.url, keyPrefix: 'e2e-login-public:' },
        login: { providers: [{ id: 'corp', issuer: idp.issuer, clientId: 'portcullis-public' }] },
      },
    });
    try {
      await page.goto(`${pub.url}/login`);
      // Still signed in at the provider: only the consent for this new client is asked.
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL(`${pub.url}/login/result**`);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You are signed in, Alice Example');
      expect(await page.textContent('main')).toContain('You may pull team/**.');
    } finally {
      await pub.stop();
    }
  });
});
