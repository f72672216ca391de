import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../observability/logger.js';
import { LoginError, type LoginErrorCode, type LoginService, type LoginViews } from '../login/index.js';
import { BrowserSessions, SessionError, STORE_RETRY_AFTER_SEC, type BrowserSession } from '../sessions/index.js';
import { StoreError } from '../store/index.js';
import { readCookie, readLoginForm, setCookie } from './login-form.js';
import { queryOf } from './request-target.js';

export interface LoginRoutesDeps {
  login: LoginService;
  views: LoginViews;
  logger: Logger;
  /** Cookies carry Secure (and the __Host- prefix). */
  secureCookies: boolean;
}

/**
 * Pages never load anything from elsewhere, never run script, cannot be framed,
 * and send no Referer (the callback URL holds the provider's code).
 */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
};

/**
 * Login refusals as HTTP: the status, and the OAuth `error` the login API answers with
 * (RFC 6749 §5.2, RFC 8628 §3.5). A Record over the union: a new code needs a line here.
 */
const LOGIN_ANSWERS: Readonly<Record<LoginErrorCode, { status: number; error: string }>> = {
  invalid_request: { status: 400, error: 'invalid_request' },
  invalid_client: { status: 401, error: 'invalid_client' },
  invalid_grant: { status: 400, error: 'invalid_grant' },
  unsupported_grant_type: { status: 400, error: 'unsupported_grant_type' },
  access_denied: { status: 400, error: 'access_denied' },
  authorization_pending: { status: 400, error: 'authorization_pending' },
  slow_down: { status: 400, error: 'slow_down' },
  expired_token: { status: 400, error: 'expired_token' },
  rate_limited: { status: 429, error: 'slow_down' },
  unavailable: { status: 503, error: 'temporarily_unavailable' },
  not_signed_in: { status: 403, error: 'login_required' },
  csrf: { status: 403, error: 'invalid_request' },
  cross_site: { status: 403, error: 'invalid_request' },
  unsupported_media_type: { status: 415, error: 'invalid_request' },
  payload_too_large: { status: 413, error: 'invalid_request' },
};

/** The store behind sessions, codes and device grants is down: a retryable refusal, never a 500. */
function unavailable(err: unknown): LoginError | undefined {
  if (err instanceof StoreError || (err instanceof SessionError && err.code === 'unavailable')) {
    return new LoginError('unavailable', 'the session store is unavailable; retry shortly', STORE_RETRY_AFTER_SEC);
  }
  return undefined;
}

/** The sign-in pages and the login API (docs/login.md); handlers only translate HTTP. */
export function mountLogin(router: Router, deps: LoginRoutesDeps): void {
  const { login, views } = deps;
  const prefix = deps.secureCookies ? '__Host-' : '';
  const SESSION_COOKIE = `${prefix}portcullis_session`;
  const FLOW_COOKIE = `${prefix}portcullis_flow`;
  const publicOrigin = new URL(login.settings.publicUrl).origin;

  const headers = (ctx: Koa.Context): void => {
    for (const [k, v] of Object.entries(PAGE_HEADERS)) ctx.set(k, v);
  };
  const html = (ctx: Koa.Context, status: number, body: string): void => {
    headers(ctx);
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = body;
  };
  const errorPage = (ctx: Koa.Context, thrown: unknown, heading = 'Sign-in failed'): void => {
    const err = unavailable(thrown) ?? thrown;
    if (err instanceof LoginError) {
      const { status } = LOGIN_ANSWERS[err.code];
      if (err.retryAfterSec !== undefined) ctx.set('Retry-After', String(err.retryAfterSec));
      html(ctx, status, views.error(status === 429 ? 'Too many attempts' : heading, err.message, { retry: status < 500 && status !== 429 }));
      return;
    }
    deps.logger.error({ err, path: ctx.path }, 'login page failed');
    html(ctx, 503, views.error('Something went wrong', 'The broker could not finish this request. Try again in a moment.', { retry: true }));
  };
  /** Runs a page handler; failures become an HTML page, never a JSON error or a stack. */
  const page =
    (fn: (ctx: Koa.Context) => Promise<void>) =>
    async (ctx: Koa.Context): Promise<void> => {
      try {
        await fn(ctx);
      } catch (err) {
        errorPage(ctx, err);
      }
    };
  /** Runs an API handler: OAuth error JSON (RFC 6749 §5.2) on refusal. */
  const api =
    (fn: (ctx: Koa.Context) => Promise<void>) =>
    async (ctx: Koa.Context): Promise<void> => {
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Pragma', 'no-cache');
      try {
        await fn(ctx);
      } catch (thrown) {
        const err = unavailable(thrown) ?? thrown;
        if (!(err instanceof LoginError)) throw err;
        const answer = LOGIN_ANSWERS[err.code];
        ctx.status = answer.status;
        if (err.retryAfterSec !== undefined) ctx.set('Retry-After', String(err.retryAfterSec));
        ctx.body = { error: answer.error, error_description: err.message };
      }
    };

  const session = (ctx: Koa.Context): Promise<BrowserSession | null> => login.browserSession(readCookie(ctx, SESSION_COOKIE));

  /** Off to the provider; the flow cookie ties the callback to this browser. */
  const startSignIn = async (ctx: Koa.Context, purpose: Parameters<LoginService['begin']>[0], provider?: string, service?: string): Promise<void> => {
    const existing = readCookie(ctx, FLOW_COOKIE);
    const flowCookie = existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : randomBytes(32).toString('base64url');
    const location = await login.begin(purpose, { flowCookie, ...(provider ? { provider } : {}), ...(service ? { service } : {}) });
    setCookie(ctx, FLOW_COOKIE, flowCookie, { secure: deps.secureCookies, maxAgeSec: login.settings.flowLifetimeSec });
    headers(ctx);
    ctx.redirect(location);
  };

  /**
   * Every state-changing POST: a signed-in person, the form's CSRF token, and (when the
   * browser says) our own origin. A cross-site form post has neither the token nor the origin.
   */
  const guarded = async (ctx: Koa.Context): Promise<{ session: BrowserSession; form: URLSearchParams }> => {
    // With `Referrer-Policy: no-referrer` browsers send `Origin: null` on same-site form posts, so
    // "null" proves nothing either way; Sec-Fetch-Site, where sent, does tell a cross-site post.
    const origin = ctx.get('origin');
    const site = ctx.get('sec-fetch-site');
    if ((origin !== '' && origin !== 'null' && origin !== publicOrigin) || site === 'cross-site' || site === 'same-site') {
      throw new LoginError('cross_site', 'cross-site request refused (the form was not sent from this broker\'s pages)');
    }
    const form = await readLoginForm(ctx);
    const current = await session(ctx);
    if (current === null) throw new LoginError('not_signed_in', 'you are not signed in (or your sign-in expired); sign in and try again');
    if (!BrowserSessions.csrfMatches(current, form.get('csrf') ?? undefined)) {
      throw new LoginError('csrf', 'the form is missing its security token (CSRF) or it is stale; reload the page and try again');
    }
    return { session: current, form };
  };

  router.get('/.well-known/portcullis', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = login.discovery();
  });

  if (login.settings.providers.length === 0) return;

  router.get('/login/assets/style.css', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'text/css; charset=utf-8';
    ctx.body = views.css();
  });

  router.get(
    '/login',
    page(async (ctx) => {
      const q = queryOf(ctx);
      const service = q.get('service') ?? undefined;
      const provider = q.get('provider') ?? undefined;
      if ((await session(ctx)) !== null && provider === undefined) {
        headers(ctx);
        ctx.redirect(`/login/result${service ? `?service=${encodeURIComponent(login.service(service, true))}` : ''}`);
        return;
      }
      const providers = login.settings.providers;
      if (provider === undefined && providers.length > 1) {
        html(ctx, 200, views.choose(providers.map((p) => ({ id: p.id, name: p.name, href: `/login?provider=${encodeURIComponent(p.id)}${service ? `&service=${encodeURIComponent(service)}` : ''}` }))));
        return;
      }
      await startSignIn(ctx, { kind: 'result' }, provider, service);
    }),
  );

  router.get(
    '/login/cli',
    page(async (ctx) => {
      const q = queryOf(ctx);
      // Validated before anything else: a bad redirect_uri gets this page, never a redirect.
      const purpose = login.cliPurpose(q);
      await startSignIn(ctx, purpose, q.get('provider') ?? undefined, q.get('service') ?? undefined);
    }),
  );

  router.get(
    '/login/callback',
    page(async (ctx) => {
      const outcome = await login.complete(queryOf(ctx), readCookie(ctx, FLOW_COOKIE), readCookie(ctx, SESSION_COOKIE));
      if (outcome.kind === 'refused') {
        html(ctx, 400, views.error('Sign-in failed', outcome.message, { retry: true }));
        return;
      }
      if (outcome.browserCookie !== undefined) {
        setCookie(ctx, SESSION_COOKIE, outcome.browserCookie, { secure: deps.secureCookies, maxAgeSec: login.settings.browserSessionLifetimeSec });
      }
      headers(ctx);
      ctx.redirect(outcome.location);
    }),
  );

  router.get(
    '/login/result',
    page(async (ctx) => {
      const current = await session(ctx);
      const service = queryOf(ctx).get('service') ?? undefined;
      if (current === null) return startSignIn(ctx, { kind: 'result' }, undefined, service);
      html(ctx, 200, views.result(await login.result(current, service)));
    }),
  );

  router.get(
    '/login/sessions',
    page(async (ctx) => {
      const current = await session(ctx);
      if (current === null) return startSignIn(ctx, { kind: 'sessions' });
      html(ctx, 200, views.sessions(current, await login.ownSessions(current)));
    }),
  );

  router.post(
    '/login/sessions/revoke',
    page(async (ctx) => {
      const { session: current, form } = await guarded(ctx);
      const ended = await login.revokeOwn(current, form.get('id') ?? '');
      html(ctx, 200, views.sessions(current, await login.ownSessions(current), ended ? 'Session revoked: that device must sign in again.' : 'That session had already ended.'));
    }),
  );

  router.post(
    '/login/logout',
    page(async (ctx) => {
      await guarded(ctx);
      await login.logout(readCookie(ctx, SESSION_COOKIE));
      setCookie(ctx, SESSION_COOKIE, '', { secure: deps.secureCookies, maxAgeSec: 0 });
      html(ctx, 200, views.signedOut());
    }),
  );

  router.post(
    '/login/token',
    api(async (ctx) => {
      const ua = ctx.get('user-agent');
      ctx.body = await login.token(await readLoginForm(ctx), { ip: ctx.ip, ...(ua ? { userAgent: ua } : {}) });
    }),
  );

  router.post(
    '/login/revoke',
    api(async (ctx) => {
      await login.revoke((await readLoginForm(ctx)).get('token') ?? '');
      ctx.body = {};
    }),
  );

  router.post(
    '/login/device/code',
    api(async (ctx) => {
      ctx.body = await login.deviceStart(await readLoginForm(ctx), ctx.ip);
    }),
  );

  router.get(
    '/device',
    page(async (ctx) => {
      const userCode = queryOf(ctx).get('user_code') ?? undefined;
      const current = await session(ctx);
      if (current === null) return startSignIn(ctx, login.devicePurpose(userCode));
      if (userCode === undefined || userCode === '') {
        html(ctx, 200, views.deviceEntry(current));
        return;
      }
      await showDevice(ctx, current, userCode);
    }),
  );

  const showDevice = async (ctx: Koa.Context, current: BrowserSession, userCode: string): Promise<void> => {
    try {
      const found = await login.deviceLookup(current, userCode, ctx.ip);
      html(ctx, 200, views.deviceConfirm(current, found.record, login.grantsFor(current, found.record.service)));
    } catch (err) {
      if (!(err instanceof LoginError) || err.code === 'rate_limited') throw err;
      html(ctx, LOGIN_ANSWERS[err.code].status, views.deviceEntry(current, { userCode: userCode.slice(0, 20), error: err.message }));
    }
  };

  router.post(
    '/device',
    page(async (ctx) => {
      const { session: current, form } = await guarded(ctx);
      const action = form.get('action');
      const userCode = form.get('user_code') ?? '';
      if (action === 'lookup') return showDevice(ctx, current, userCode);
      if (action !== 'approve' && action !== 'deny') throw new LoginError('invalid_request', '"action" must be lookup, approve or deny');
      await login.deviceDecide(current, userCode, action === 'approve', ctx.ip);
      html(ctx, 200, views.deviceDone(current, action === 'approve'));
    }),
  );
}
