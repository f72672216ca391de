import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../observability/logger.js';
import type { AuditRecord, TokenRequest, TokenService } from '../issuance/index.js';
import { HttpError, answerFor, errorMiddleware, respondWithError } from './errors.js';
import { parseGetRequest, parsePostRequest } from './token-request.js';
import { mountAdminSessions, type AdminSessionsDeps } from './admin-sessions.js';
import { mountAdminExplain, type AdminExplainDeps } from './admin-explain.js';
import type { Metrics } from '../observability/metrics.js';
import { mountLogin, type LoginRoutesDeps } from './login-routes.js';

export interface DevIssuerRoutes {
  /** URL path prefix the development issuer lives under, e.g. "/dev". */
  readonly pathPrefix: string;
  discoveryDocument(): object;
  jwks(): object;
}

export interface ReadinessReport {
  ok: boolean;
  checks: Record<string, string>;
}

export interface AppDeps {
  tokens: TokenService;
  /** Public keys of every published signing key. */
  jwks: () => object;
  logger: Logger;
  trustProxy?: boolean;
  devIssuer?: DevIssuerRoutes;
  readiness?: () => Promise<ReadinessReport>;
  /** /admin/sessions (list and revoke), only when configured. */
  adminSessions?: AdminSessionsDeps;
  /** /admin/explain (decision traces against the running policy), only when configured. */
  adminExplain?: AdminExplainDeps;
  /** Prometheus metrics; /metrics is served when given. */
  metrics?: Metrics;
  /** People's sign-in pages and login API, and /.well-known/portcullis. */
  login?: Omit<LoginRoutesDeps, 'logger'>;
}

/** The HTTP surface. Handlers only translate between HTTP and the services. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy ?? false });
  const router = new Router();
  const metrics = deps.metrics;
  const audit = (record: AuditRecord, status: number, started: bigint): void => {
    deps.logger.info({ audit: record }, record.outcome === 'issued' ? 'token issued' : 'token refused');
    if (metrics) {
      metrics.tokenRequests.inc({ outcome: record.outcome, grant: record.grant ?? 'unknown', status: String(status) });
      metrics.tokenDuration.observe({ outcome: record.outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      if (record.denied) metrics.deniedScopes.inc(record.denied.length);
    }
  };

  const token = async (ctx: Koa.Context, parse: () => Promise<TokenRequest> | TokenRequest) => {
    const started = process.hrtime.bigint();
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    let request: TokenRequest;
    try {
      request = await parse();
    } catch (err) {
      // Refused at the edge: audited without a decision id, answered by the error middleware.
      const answer = answerFor(err);
      if (answer !== undefined) audit({ decision: '-', outcome: 'refused', reason: (err as Error).message, clientIp: ctx.ip }, answer.status, started);
      throw err;
    }
    const outcome = await deps.tokens.issue(request);
    ctx.set('X-Portcullis-Decision', outcome.audit.decision);
    if (outcome.ok) {
      audit(outcome.audit, 200, started);
      ctx.body = outcome.body;
      return;
    }
    const answer = answerFor(outcome.error);
    if (answer === undefined) throw outcome.error;
    audit(outcome.audit, answer.status, started);
    respondWithError(ctx, outcome.error, answer);
  };

  router.get('/token', (ctx) => token(ctx, () => parseGetRequest(ctx, ctx.ip)));
  router.post('/token', (ctx) => token(ctx, () => parsePostRequest(ctx, ctx.ip)));

  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = deps.jwks();
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const report = deps.readiness ? await deps.readiness() : { ok: true, checks: {} };
    ctx.status = report.ok ? 200 : 503;
    ctx.body = { status: report.ok ? 'ready' : 'not ready', checks: report.checks };
  });

  if (deps.login) mountLogin(router, { ...deps.login, logger: deps.logger });
  if (deps.adminSessions) mountAdminSessions(router, deps.adminSessions);
  if (deps.adminExplain) mountAdminExplain(router, deps.adminExplain);
  if (metrics) {
    router.get('/metrics', async (ctx) => {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
    });
  }

  if (deps.devIssuer) {
    const dev = deps.devIssuer;
    router.get(`${dev.pathPrefix}/.well-known/openid-configuration`, (ctx) => {
      ctx.body = dev.discoveryDocument();
    });
    router.get(`${dev.pathPrefix}/jwks`, (ctx) => {
      ctx.body = dev.jwks();
    });
  }

  app.use(errorMiddleware(deps.logger));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  app.use((ctx) => {
    throw new HttpError('not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  return app;
}
