import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../observability/logger.js';
import type { AuditRecord, TokenRequest, TokenService } from '../issuance/index.js';
import { HttpError, answerFor, errorMiddleware, respondWithError } from './errors.js';
import { parseGetRequest, parsePostRequest } from './token-request.js';
import { mountAdminSessions, type AdminSessionsDeps } from './admin-sessions.js';
import { mountAdminExplain, type AdminExplainDeps } from './admin-explain.js';
import { NO_ISSUER, refusalReason, type Metrics, type RefusalReason } from '../observability/index.js';
import { PortcullisError } from '../lib/index.js';
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

/** The bounded refusal reason of a failed token request, for metrics. */
function reasonOf(err: unknown): RefusalReason {
  return err instanceof PortcullisError ? refusalReason(err.code, err.detail?.reason) : 'internal';
}

/** The HTTP surface. Handlers only translate between HTTP and the services. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy ?? false });
  const router = new Router();
  const metrics = deps.metrics;
  const audit = (record: AuditRecord, status: number, started: bigint, err?: unknown): void => {
    // `refusal` is the bounded reason code: the same value as the metrics' reason label.
    const refusal = record.outcome === 'refused' ? reasonOf(err) : undefined;
    deps.logger.info(refusal ? { audit: record, refusal } : { audit: record }, record.outcome === 'issued' ? 'token issued' : 'token refused');
    if (metrics) {
      metrics.recordTokenRequest({
        outcome: record.outcome,
        grant: record.grant ?? 'unknown',
        status,
        issuer: record.issuerId ?? NO_ISSUER,
        ...(refusal ? { reason: refusal } : {}),
        deniedScopes: record.denied?.length ?? 0,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
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
      if (answer !== undefined) audit({ decision: '-', outcome: 'refused', reason: (err as Error).message, clientIp: ctx.ip }, answer.status, started, err);
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
    audit(outcome.audit, answer.status, started, outcome.error);
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
      const { contentType, body } = await metrics.exposition();
      ctx.type = contentType;
      ctx.body = body;
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
