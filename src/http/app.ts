import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../observability/logger.js';
import type { AuditRecord, TokenRequest, TokenService } from '../issuance/index.js';
import { HttpError, answerFor, errorMiddleware, respondWithError } from './errors.js';
import { requestTargetGuard } from './request-target.js';
import { clientIpResolver, type TrustedProxies } from './client-ip.js';
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

/** The bounded refusal reason of a failed token request, for metrics. */
function reasonOf(err: unknown): RefusalReason {
  return err instanceof PortcullisError ? refusalReason(err.code, err.detail?.reason) : 'internal';
}

/** The HTTP surface. Handlers only translate between HTTP and the services. */
export function createApp(deps: AppDeps): Koa {
  // Koa's own proxy support takes the leftmost X-Forwarded-For entry, which the client writes.
  const app = new Koa({ proxy: false });
  const clientIp = clientIpResolver(deps.trustedProxies);
  const router = new Router();
  const metrics = deps.metrics;
  // An audit record never holds a credential (AuditRecord says why), so the redaction that
  // guards every other line is skipped for it: about 2 µs per token request.
  const auditLog = deps.logger.child({}, { redact: { paths: [] } });
  const audit = (record: AuditRecord, status: number, started: bigint, err?: unknown): void => {
    // `refusal` is the bounded reason code: the same value as the metrics' reason label.
    const refusal = record.outcome === 'refused' ? reasonOf(err) : undefined;
    auditLog.info(refusal ? { audit: record, refusal } : { audit: record }, record.outcome === 'issued' ? 'token issued' : 'token refused');
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
  return app;
}
