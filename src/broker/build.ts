import { createServer, type RequestListener, type Server } from 'node:http';
import type Koa from 'koa';
import type { Config, LoadedConfig } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { createVerifier, type IssuerConfig, type OidcVerifier } from '../identity/index.js';
import { DevIssuer, devIssuerConfig, EXAMPLE_POLICY } from '../dev/index.js';
import { PolicyHolder, loadPolicyFile, type CompiledPolicy } from '../policy/index.js';
import type { KeyRing } from '../keys/index.js';
import { TokenService } from '../issuance/token-service.js';
import { answerClientError, createHttpHandler, createOperatorApp, type ReadinessReport } from '../http/index.js';
import { logOutputStats, type Logger } from '../observability/index.js';
import { loadKeyRing } from './keys.js';
import { readSecret } from '../config/index.js';
import type { SessionService } from '../sessions/index.js';
import type { Store } from '../store/index.js';
import { openStore } from './store.js';
import { GracefulServer, sleepUntil, type ShutdownPlan } from './shutdown.js';
import { buildSessions } from './sessions.js';
import { Metrics, instrumentIssuerFetch, instrumentStore } from '../observability/index.js';
import { LoginService, LoginViews } from '../login/index.js';
import { loginSettings, loginIssuers } from './login.js';

/** The example policy shipped with the package (same relative place from src/ and dist/). */
export const DEV_ISSUER_PATH = '/dev';

export interface BuildOptions {
  logger: Logger;
  /** `config check`: build everything but write nothing (no generated key files in dataDir). */
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface Broker {
  readonly config: Config;
  readonly app: Koa;
  readonly keyRing: KeyRing;
  readonly verifier: OidcVerifier;
  readonly publicUrl: string;
  readonly devIssuer: DevIssuer | null;
  /** The shared store (Redis) or this process's memory store. */
  readonly store: Store;
  readonly sessions: SessionService;
  /** Current compiled policy (follows reloads). */
  policy(): CompiledPolicy;
  /** Re-reads the policy file; keeps the last good policy on error. */
  reloadPolicy(): Promise<{ ok: boolean; version: string; error?: string }>;
  /** Human-readable lines describing what the broker does. */
  readonly summary: string[];
  listen(): Promise<Server>;
  /**
   * SIGTERM: readiness turns false at once, the listener closes after the plan's drain delay,
   * every accepted request is answered and keep-alive connections close after their response,
   * then the store closes. Resolves true when nothing had to be cut at the deadline.
   */
  shutdown(plan: ShutdownPlan): Promise<boolean>;
  /** Immediate stop (tests, start-up failures): no drain delay. */
  close(): Promise<void>;
}

export function publicUrlOf(config: Config): string {
  if (config.server.publicUrl) return config.server.publicUrl.replace(/\/+$/, '');
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  return `http://${host}:${config.server.port}`;
}

/** The composition root: every module built from one validated configuration. */
export async function buildBroker(loaded: LoadedConfig, options: BuildOptions): Promise<Broker> {
  const { config } = loaded;
  const logger = options.logger;
  const publicUrl = publicUrlOf(config);
  const summary: string[] = [];

  const { ring: keyRing, notes } = await loadKeyRing(config, options.env, { dryRun: options.dryRun === true });
  summary.push(...notes);

  let devIssuer: DevIssuer | null = null;
  const issuers: IssuerConfig[] = config.issuers.map((i) => ({ ...i }) as IssuerConfig);
  // People's providers are trusted issuers too (audience = the broker's client id at the provider).
  issuers.push(...loginIssuers(config));
  if (config.devIssuer.enabled) {
    devIssuer = await DevIssuer.open(config.dataDir, `${publicUrl}${DEV_ISSUER_PATH}`, { create: options.dryRun !== true });
    issuers.push(devIssuerConfig(devIssuer, { audiences: [config.devIssuer.audience] }));
  }
  const metrics = config.metrics.enabled ? new Metrics() : undefined;
  metrics?.trackLogDrops(() => logOutputStats(logger).droppedLines);
  // A single-use ID token is refused when it comes back, so neither its verification nor its
  // policy decision is kept: with fresh tokens at a steady rate, caching them only churned memory.
  const idTokens = config.sessions.idTokens;
  const singleUseIssuer = (issuerId: string): boolean => idTokens.singleUse || idTokens.singleUseIssuers.includes(issuerId);
  const verifier = createVerifier(issuers, {
    cache: { admit: (identity) => !singleUseIssuer(identity.issuerId) },
    logger: { warn: (obj, msg) => logger.warn(obj, msg) },
    ...(metrics ? { fetch: instrumentIssuerFetch(fetch, metrics) } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  // Static key sets are imported (by jose, asynchronously) before serving: an unusable one is a configuration error.
  await verifier.ready().catch((error: unknown) => {
    throw new ConfigError(`issuers: ${error instanceof Error ? error.message : String(error)}`);
  });

  // `issuer: $corp` in the policy names the people's provider with id corp.
  const issuerAliases: Record<string, string> = {
    ...Object.fromEntries(config.login.providers.map((p) => [p.id, p.issuer])),
    ...(devIssuer ? { dev: devIssuer.issuer } : {}),
  };
  let holder: PolicyHolder | null = null;
  let staticPolicy: CompiledPolicy | null = null;
  if (config.policy.file) {
    holder = await PolicyHolder.create({
      path: config.policy.file,
      issuerAliases,
      onReload: (r) => {
        metrics?.policyReloads.inc({ result: r.ok ? 'ok' : 'error' });
        metrics?.setPolicyVersion(r.version);
        if (r.ok) logger.info({ policyVersion: r.version, changed: r.changed }, 'policy reloaded');
        else logger.error({ policyVersion: r.version, err: r.error.message }, 'policy reload failed; keeping the last good policy');
      },
    });
  } else if (devIssuer) {
    staticPolicy = await loadPolicyFile(EXAMPLE_POLICY, { issuerAliases });
  } else {
    throw new ConfigError('policy.file: required (the example policy only applies to the development issuer)');
  }
  const policy = (): CompiledPolicy => (holder ? holder.current : (staticPolicy as CompiledPolicy));
  metrics?.setPolicyVersion(policy().version);

  // Sessions: the store and everything stateful on it.
  // Secrets first: a failure here must not leave a Redis connection behind.
  const adminToken = config.admin.enabled && config.admin.token ? readSecret(config.admin.token, 'admin.token', options.env).trim() : undefined;
  const openedStore = await openStore(config, options.env, (state, error) =>
    // Connecting at start-up and closed at shutdown are routine; only losing the store is a warning.
    state === 'unavailable' ? logger.warn({ store: state, err: error?.message }, 'store not ready') : logger.info({ store: state }, `store ${state}`),
  );
  const store = metrics ? instrumentStore(openedStore, metrics) : openedStore;
  let lastFailOpenLog = 0;
  const sessions = buildSessions(config, store, {
    ...(options.now ? { now: options.now } : {}),
    onRateLimitFailOpen: (err) => {
      metrics?.rateLimitsSkipped.inc();
      // One line per 10 s at most: an outage must not become a log flood.
      if (Date.now() - lastFailOpenLog < 10_000) return;
      lastFailOpenLog = Date.now();
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'rate limits skipped: store unavailable (onStoreFailure: open)');
    },
  });
  const trustedIssuerIds = new Set(issuers.map((i) => i.id));

  // People sign in with the company's provider (docs/login.md).
  const settings = loginSettings(config, publicUrl, options.env);
  const login = new LoginService({ settings, sessions, verifier, policy, ...(options.now ? { now: options.now } : {}) });
  const peopleSignIn = settings.providers.length > 0;

  const tokens = new TokenService({
    issuer: config.token.issuer,
    services: config.token.services,
    lifetime: config.token.lifetime,
    verifier,
    policy,
    signer: () => keyRing.signer,
    ...(options.now ? { now: options.now } : {}),
    sessions,
    issuerTrusted: (id) => trustedIssuerIds.has(id),
    ...(idTokens.singleUse ? { decisionCache: false as const } : {}),
    ...(peopleSignIn ? { redeemLoginCode: (code: string, service: string) => login.redeemRegistryCode(code, service) } : {}),
  });

  const operatorDeps = {
    ...(adminToken !== undefined
      ? {
          adminSessions: { sessions, token: adminToken },
          adminExplain: { policy, token: adminToken, defaultService: config.token.services[0] as string },
        }
      : {}),
    ...(metrics ? { metrics } : {}),
  };
  const readiness = async (): Promise<ReadinessReport> => {
    // Shutting down: not ready, whatever the store says, so load balancers stop sending.
    if (graceful?.isDraining) return { ok: false, checks: { shutdown: { ok: false, detail: 'draining: the process is stopping' } } };
    const health = await store.health();
    const detail = health.ok ? `${health.kind} ok` : `${health.kind} ${health.state}: ${health.error ?? 'not ready'}`;
    return { ok: health.ok, checks: { store: { ok: health.ok, detail } } };
  };
  const operatorListener = config.server.operator;
  const http = createHttpHandler({
    tokens,
    jwks: () => keyRing.jwks(),
    logger,
    separateOperatorListener: operatorListener !== undefined,
    ...(config.server.trustedProxies ? { trustedProxies: config.server.trustedProxies } : {}),
    readiness,
    ...operatorDeps,
    login: { login, views: new LoginViews(settings), secureCookies: settings.secureCookies },
    ...(devIssuer
      ? {
          devIssuer: {
            pathPrefix: DEV_ISSUER_PATH,
            discoveryDocument: () => (devIssuer as DevIssuer).discoveryDocument(),
            jwks: () => (devIssuer as DevIssuer).jwks(),
          },
        }
      : {}),
  });

  const active = keyRing.active;
  summary.push(
    `listening on ${publicUrl} (token endpoint ${publicUrl}/token)`,
    `registry settings: auth.token.realm=${publicUrl}/token issuer=${config.token.issuer} service=${config.token.services.join('|')}`,
    `signing key ${active.id}: ${active.alg}, kid mode ${active.kidMode}, kid ${active.kid}`,
    `store: ${config.store.type}`,
    operatorListener
      ? `operator listener on ${operatorListener.host}:${operatorListener.port} (/metrics, /admin/*, detailed /readyz)`
      : 'operator endpoints (/metrics, /admin/*) on the public listener; set server.operator to move them',
    `client IP: ${config.server.trustedProxies ? `X-Forwarded-For through trusted proxies ${JSON.stringify(config.server.trustedProxies)}` : 'socket peer (no trusted proxies)'}`,
    `refresh tokens: ${sessions.refreshEnabled ? `on (${config.sessions.refreshTokens.rotate ? 'rotating' : 'echoed'})` : 'off'}; rate limits: ${config.sessions.rateLimits.enabled ? `on, fail ${config.sessions.rateLimits.onStoreFailure}` : 'off'}`,
    `policy: ${config.policy.file ?? `${EXAMPLE_POLICY} (example)`} version ${policy().version}`,
    ...config.issuers.map((i) => `trusted issuer ${i.id}: ${i.issuer} (audiences ${i.audiences.join(', ')})`),
    ...settings.providers.map((p) => `people sign in with ${p.id}: ${p.issuer} (client ${p.clientId}${p.clientSecret === undefined ? ', public' : ''}); redirect URI ${publicUrl}/login/callback`),
  );
  if (peopleSignIn && !sessions.refreshEnabled) {
    summary.push('WARNING: people can sign in but refresh tokens are off: `portcullis login` and docker logins with a one-time code will not last (sessions.refreshTokens.enabled)');
  }
  if (sessions.refreshEnabled && store.kind === 'memory') {
    summary.push('WARNING: refresh tokens live in process memory: a restart logs every docker user out (use a redis store)');
  }
  if (devIssuer) {
    summary.push(
      `DEVELOPMENT ISSUER ON: ${devIssuer.issuer} — anyone who can read ${config.dataDir} can mint identities; never use in production`,
      `mint a token with: portcullis dev token`,
    );
  }

  let server: Server | null = null;
  let operatorServer: Server | null = null;
  let graceful: GracefulServer | null = null;
  let unwatch: (() => void) | null = null;
  let stopped: Promise<boolean> | null = null;
  const stop = (plan: ShutdownPlan): Promise<boolean> => {
    stopped ??= (async () => {
      unwatch?.();
      holder?.close();
      let clean = true;
      if (graceful) {
        graceful.drain();
        await sleepUntil(plan.drainDelayMs, plan.deadline);
        clean = await graceful.close(plan.deadline, plan.quietMs);
      }
      if (operatorServer) {
        const op = operatorServer;
        await new Promise<void>((resolve) => {
          op.close(() => resolve());
          op.closeAllConnections();
        });
      }
      await store.close();
      return clean;
    })();
    return stopped;
  };
  return {
    config,
    app: http.app,
    keyRing,
    verifier,
    publicUrl,
    devIssuer,
    store,
    sessions,
    policy,
    summary,
    async reloadPolicy() {
      if (!holder) return { ok: true, version: policy().version };
      const r = await holder.reload();
      metrics?.policyReloads.inc({ result: r.ok ? 'ok' : 'error' });
      metrics?.setPolicyVersion(r.version);
      return r.ok ? { ok: true, version: r.version } : { ok: false, version: r.version, error: r.error.message };
    },
    async listen() {
      for (const r of await verifier.warm()) {
        if (!(r as { ok?: boolean }).ok) logger.warn({ warm: r }, 'could not prefetch issuer keys; will retry on demand');
      }
      if (holder && config.policy.watch) unwatch = await holder.watch();
      // Serve even while Redis is down: paths that need it answer 503 until it is back (docs/sessions.md).
      await store.waitUntilReady(2_000).catch(() => logger.warn({ store: store.kind }, 'store not ready yet; session paths answer 503 until it is'));
      server = await serve(http.listener, config.server.port, config.server.host, config.server.maxHeaderBytes);
      if (operatorListener !== undefined) {
        const operatorApp = createOperatorApp({ logger, readiness, ...operatorDeps });
        operatorServer = await serve(operatorApp.callback(), operatorListener.port, operatorListener.host, config.server.maxHeaderBytes);
      }
      graceful = new GracefulServer(server);
      return server;
    },
    shutdown: stop,
    async close() {
      // Stop accepting, let requests in flight finish for up to 2 s, no drain delay. Idle kept-open
      // sockets (browsers keep them a minute) are closed at once, busy ones cut at the deadline.
      await stop({ drainDelayMs: 0, quietMs: 0, deadline: Date.now() + 2_000 });
    },
  };
}

/**
 * An http server for `listener` with a deliberate head-size limit; requests Node refuses
 * before any handler sees them are answered in the registry error format.
 */
async function serve(listener: RequestListener, port: number, host: string, maxHeaderBytes: number): Promise<Server> {
  const server = createServer({ maxHeaderSize: maxHeaderBytes }, listener);
  server.on('clientError', (err: Error & { code?: string }, socket) => answerClientError(err, socket, maxHeaderBytes));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Keep-alive longer than typical proxies' idle timeout; bound header time against slowloris.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  return server;
}
