import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../observability/logger.js';
import type { RequestListener } from 'node:http';
import type { TokenService } from '../issuance/index.js';
import { HttpError, errorMiddleware } from './errors.js';
import { requestTargetGuard } from './request-target.js';
import { clientIpResolver, type TrustedProxies } from './client-ip.js';
import { createTokenEndpoint } from './token-endpoint.js';
import { mountAdminSessions, type AdminSessionsDeps } from './admin-sessions.js';
import { mountAdminExplain, type AdminExplainDeps } from './admin-explain.js';
import type { Metrics } from '../observability/index.js';
import { mountLogin, type LoginRoutesDeps } from './login-routes.js';

export interface DevIssuerRoutes {
  /** URL path prefix the development issuer lives under, e.g. "/dev". */
  readonly pathPrefix: string;
  discoveryDocument(): object;
  jwks(): object;
}

export interface ReadinessReport {
  ok: boolean;
  /** Per dependency: ok, and a detail for operators only (it may hold internal error text). */
  checks: Record<string, { ok: boolean; detail: string }>;
}

export interface AppDeps {
  tokens: TokenService;
  /** Public keys of every published signing key. */
  jwks: () => object;
  logger: Logger;
  /** Proxies whose X-Forwarded-For entries are believed; none by default. */
  trustedProxies?: TrustedProxies;
  devIssuer?: DevIssuerRoutes;
  readiness?: () => Promise<ReadinessReport>;
  /** /admin/sessions (list and revoke), only when configured. */
  adminSessions?: AdminSessionsDeps;
  /** /admin/explain (decision traces against the running policy), only when configured. */
  adminExplain?: AdminExplainDeps;
  /** Prometheus metrics; /metrics is served when given. */
  metrics?: Metrics;
  /**
   * /metrics, /admin/* and the detailed /readyz live on the operator listener
   * (createOperatorApp) instead of this one.
   */
  separateOperatorListener?: boolean;
  /** People's sign-in pages and login API, and /.well-known/portcullis. */
  login?: Omit<LoginRoutesDeps, 'logger'>;
}

export type OperatorDeps = Pick<AppDeps, 'logger' | 'readiness' | 'adminSessions' | 'adminExplain' | 'metrics'>;

/**
 * /healthz and /readyz. The public /readyz says only which checks pass: its callers
 * are anyone, and a dependency's error text (a Redis host name, an ACL message) is
 * for operators, who get it from the operator listener and the log.
 */
function mountHealth(router: Router, readiness: AppDeps['readiness'], detailed: boolean): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const report = readiness ? await readiness() : { ok: true, checks: {} };
    ctx.status = report.ok ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    const checks: Record<string, string> = {};
    for (const [name, c] of Object.entries(report.checks)) checks[name] = detailed ? c.detail : c.ok ? 'ok' : 'failing';
    ctx.body = { status: report.ok ? 'ready' : 'not ready', checks };
  });
}

function mountOperatorRoutes(router: Router, deps: OperatorDeps): void {
  if (deps.adminSessions) mountAdminSessions(router, deps.adminSessions);
  if (deps.adminExplain) mountAdminExplain(router, deps.adminExplain);
  const metrics = deps.metrics;
  if (metrics) {
    router.get('/metrics', async (ctx) => {
      const { contentType, body } = await metrics.exposition();
      ctx.type = contentType;
      ctx.body = body;
    });
  }
}

/** Koa middleware every listener starts with: errors in registry format, then a sane request target. */
function baseMiddleware(app: Koa, logger: Logger): void {
  app.use(errorMiddleware(logger));
  app.use(requestTargetGuard());
}

function notFound(app: Koa, router: Router): void {
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  app.use((ctx) => {
    throw new HttpError('not_found', `no route for ${ctx.method} ${JSON.stringify(ctx.path.slice(0, 200))}`);
  });
}

/** The operator listener: metrics, admin endpoints and health with details; never exposed publicly. */
export function createOperatorApp(deps: OperatorDeps): Koa {
  const app = new Koa({ proxy: false });
  const router = new Router();
  mountHealth(router, deps.readiness, true);
  mountOperatorRoutes(router, deps);
  baseMiddleware(app, deps.logger);
  notFound(app, router);
  return app;
}

/** The public listener: /token on node:http first (token-endpoint.ts says why), the Koa app for the rest. */
export interface HttpHandler {
  readonly app: Koa;
  readonly listener: RequestListener;
}

/** The HTTP surface. Handlers only translate between HTTP and the services. */
export function createHttpHandler(deps: AppDeps): HttpHandler {
  // Koa's own proxy support takes the leftmost X-Forwarded-For entry, which the client writes.
  const app = new Koa({ proxy: false });
  const clientIp = clientIpResolver(deps.trustedProxies);
  const router = new Router();
  const tokenEndpoint = createTokenEndpoint({ tokens: deps.tokens, logger: deps.logger, metrics: deps.metrics, clientIp });

  // Targets the fast path leaves to Koa (absolute form, reduced by the guard) reach the same endpoint.
  const token = (ctx: Koa.Context): Promise<void> => {
    ctx.respond = false;
    return tokenEndpoint.serve(ctx.req, ctx.res, ctx.ip);
  };
  router.get('/token', token);
  router.post('/token', token);

  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = deps.jwks();
  });

  mountHealth(router, deps.readiness, false);
  if (deps.login) mountLogin(router, { ...deps.login, logger: deps.logger });
  if (!deps.separateOperatorListener) mountOperatorRoutes(router, deps);

  if (deps.devIssuer) {
    const dev = deps.devIssuer;
    router.get(`${dev.pathPrefix}/.well-known/openid-configuration`, (ctx) => {
      ctx.body = dev.discoveryDocument();
    });
    router.get(`${dev.pathPrefix}/jwks`, (ctx) => {
      ctx.body = dev.jwks();
    });
  }

  baseMiddleware(app, deps.logger);
  app.use(async (ctx, next) => {
    ctx.request.ip = clientIp(ctx.req.socket.remoteAddress, ctx.get('x-forwarded-for') || undefined);
    await next();
  });
  notFound(app, router);
  const koa = app.callback();
  return {
    app,
    listener: (req, res) => {
      if (!tokenEndpoint.tryServe(req, res)) void koa(req, res);
    },
  };
}
