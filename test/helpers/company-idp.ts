/**
 * The company's OpenID provider for login tests: the real `oidc-provider` on a
 * loopback port, with its own sign-in (user name + password) and consent pages.
 * Accounts have verified or unverified email addresses and groups.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import Provider from 'oidc-provider';
import type { Page } from 'playwright-core';
import { freePort } from './ports.js';

export interface IdpUser {
  readonly sub: string;
  readonly password: string;
  readonly name: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly groups: readonly string[];
}

export interface IdpClient {
  readonly clientId: string;
  /** Absent for a public client (PKCE only). */
  readonly clientSecret?: string;
  readonly redirectUris: readonly string[];
}

export interface CompanyIdp {
  readonly issuer: string;
  readonly port: number;
  /** Authorization codes the provider handed out (from the redirect), for replay tests. */
  close(): Promise<void>;
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>Example Corp SSO</h1>${body}</body></html>`;
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startCompanyIdp(options: { users: readonly IdpUser[]; clients: readonly IdpClient[] }): Promise<CompanyIdp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const users = new Map(options.users.map((u) => [u.sub, u]));
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      ...(c.clientSecret !== undefined ? { client_secret: c.clientSecret } : { token_endpoint_auth_method: 'none' }),
      redirect_uris: [...c.redirectUris],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    // Put the scopes' claims in the ID token too, as Okta, Entra ID and Keycloak do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['company-idp-test-cookie-key-0123456789'] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 300, IdToken: 300, AuthorizationCode: 60 },
    async findAccount(_ctx: unknown, sub: string) {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, name: user.name, email: user.email, email_verified: user.emailVerified, groups: [...user.groups] }),
      };
    },
  });
  const callback = provider.callback();

  const interaction = async (req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> => {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    const prompt = details.prompt.name;
    if (req.method === 'GET') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      if (prompt === 'login') {
        res.end(
          page(
            'Sign in',
            `<form method="post" action="/interaction/${escape(uid)}/login">
<label for="username">User name</label> <input id="username" name="username" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form>`,
          ),
        );
      } else {
        res.end(
          page(
            'Allow access',
            `<p>Portcullis asks to know who you are (${escape(String(details.params.scope ?? ''))}).</p>
<form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit">Allow</button></form>`,
          ),
        );
      }
      return;
    }
    const form = await formBody(req);
    if (action === 'login') {
      const user = users.get(form.get('username') ?? '');
      if (!user || !sameSecret(user.password, form.get('password') ?? '')) {
        res.statusCode = 401;
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(page('Sign in', '<p role="alert">Wrong user name or password.</p>'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    if (action === 'confirm') {
      const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
      const grant = existing ?? new provider.Grant({ accountId: details.session?.accountId ?? '', clientId: String(details.params.client_id) });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    res.statusCode = 404;
    res.end();
  };

  const server: Server = createServer((req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (!match) {
      callback(req, res);
      return;
    }
    interaction(req, res, match[1] as string, match[2]).catch((err: unknown) => {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/plain');
      res.end(`interaction failed: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** On the provider's pages `page` was sent to: sign in as `user` and allow the consent. */
export async function signInAtCompanyIdp(page: Page, user: string, password: string): Promise<void> {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
}
