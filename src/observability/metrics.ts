import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { clusterMetricsText, isClusterWorker, joinClusterMetrics } from './cluster-metrics.js';

/**
 * Why a token request was refused: a bounded set, so it can be a label. It is
 * the stable code of the error the request was refused with (the codes src/http
 * answers), except that refused credentials carry the ID-token check that
 * failed (wrong_audience, expired ...) instead of the generic bad_credentials.
 */
export const REFUSAL_REASONS = [
  // ID token verification (bad_credentials, by the check that failed)
  'malformed',
  'untrusted_issuer',
  'unsupported_alg',
  'unknown_key',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'too_old',
  'issued_in_future',
  'wrong_audience',
  'missing_claim',
  'bad_credentials',
  // issuance and sessions
  'verification_unavailable',
  'issuer_untrusted',
  'replayed',
  'invalid_grant',
  'wrong_service',
  'reused',
  'rate_limited',
  'too_large',
  'unavailable',
  // the request itself
  'invalid_request',
  'invalid_scope',
  'unknown_service',
  'unsupported_grant',
  'unsupported_media_type',
  'payload_too_large',
  'not_found',
  'unauthorized',
  // anything else: a bug, answered 500
  'internal',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
const KNOWN_REASONS: ReadonlySet<string> = new Set(REFUSAL_REASONS);

/** Maps a refusal's error code (and, for bad_credentials, the failed check in its detail) onto the bounded set. */
export function refusalReason(code: unknown, detailReason?: unknown): RefusalReason {
  if (code === 'bad_credentials' && typeof detailReason === 'string' && KNOWN_REASONS.has(detailReason)) return detailReason as RefusalReason;
  return typeof code === 'string' && KNOWN_REASONS.has(code) ? (code as RefusalReason) : 'internal';
}

/**
 * Counts kept as plain numbers on the request path and handed to prom-client
 * when /metrics is scraped. prom-client hashes and validates the label set on
 * every inc(), even through a child from labels(); here a request costs one Map
 * lookup by a short key. The label sets are bounded (outcomes, grants, statuses,
 * reasons, configured issuer ids).
 */
class HotCounts {
  readonly #slots = new Map<string, { labels: Record<string, string>; n: number }>();

  add(key: string, labels: () => Record<string, string>, by = 1): void {
    const slot = this.#slots.get(key);
    if (slot !== undefined) slot.n += by;
    else this.#slots.set(key, { labels: labels(), n: by });
  }

  /** Replaces the counter's values by these counts (called from the counter's collect()). */
  flushInto(counter: Counter<string>): void {
    counter.reset();
    for (const { labels, n } of this.#slots.values()) counter.inc(labels, n);
  }
}

/** Issuer label for requests whose identity is not (yet) known. */
export const NO_ISSUER = 'none';

const FETCH_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

function packageVersion(): string {
  try {
    // src/observability and dist/observability are both two levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Prometheus metrics. One registry per broker so tests and several brokers in
 * one process never share counters. Under `serve --workers`, /metrics answers
 * with the sum over every worker (see cluster-metrics.ts).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requestCounts = new HotCounts();
  readonly #refusalCounts = new HotCounts();
  readonly #otherCounts = { rateLimited: 0, deniedScopes: 0 };
  readonly tokenRequests: Counter<'outcome' | 'grant' | 'status' | 'issuer'> = this.#hotCounter(
    {
      name: 'portcullis_token_requests_total',
      help: 'Token requests by outcome (issued, refused), grant (GET, password, refresh_token, token-exchange), HTTP status and issuer id.',
      labelNames: ['outcome', 'grant', 'status', 'issuer'],
    },
    (c) => this.#requestCounts.flushInto(c),
  );
  readonly refusals: Counter<'reason' | 'issuer'> = this.#hotCounter(
    {
      name: 'portcullis_token_refusals_total',
      help: 'Refused token requests by reason (a fixed set: see docs/troubleshooting.md) and issuer id ("none" before the token was verified).',
      labelNames: ['reason', 'issuer'],
    },
    (c) => this.#refusalCounts.flushInto(c),
  );
  readonly rateLimited: Counter = this.#hotCounter(
    { name: 'portcullis_rate_limited_requests_total', help: 'Token requests answered 429 because a rate limit was exhausted.', labelNames: [] },
    (c) => {
      c.reset();
      c.inc(this.#otherCounts.rateLimited);
    },
  );
  readonly rateLimitsSkipped = new Counter({
    name: 'portcullis_rate_limits_skipped_total',
    help: 'Rate-limit checks skipped because the store was unavailable (sessions.rateLimits.onStoreFailure: open).',
    registers: [this.registry],
  });
  readonly tokenDuration = new Histogram({
    name: 'portcullis_token_request_duration_seconds',
    help: 'Time to answer a token request.',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly deniedScopes: Counter = this.#hotCounter(
    { name: 'portcullis_denied_scopes_total', help: 'Requested resources for which at least one action was not granted.', labelNames: [] },
    (c) => {
      c.reset();
      c.inc(this.#otherCounts.deniedScopes);
    },
  );
  readonly policyInfo = new Gauge({
    name: 'portcullis_policy_info',
    help: 'The loaded policy version (content hash) as a label; value 1.',
    labelNames: ['version'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly policyReloads = new Counter({
    name: 'portcullis_policy_reloads_total',
    help: 'Policy reload attempts by result (ok, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: 'portcullis_build_info',
    help: 'The running version of portcullis and of Node.js as labels; value 1.',
    labelNames: ['version', 'nodejs'] as const,
    registers: [this.registry],
    aggregator: 'max',
  });
  readonly issuerFetches = new Counter({
    name: 'portcullis_issuer_fetches_total',
    help: 'Fetches of issuer discovery documents and JWKS by kind (discovery, jwks) and outcome (ok, http_4xx, http_5xx, error).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly issuerFetchDuration = new Histogram({
    name: 'portcullis_issuer_fetch_duration_seconds',
    help: 'Time of issuer discovery and JWKS fetches, by kind.',
    labelNames: ['kind'] as const,
    buckets: FETCH_BUCKETS,
    registers: [this.registry],
  });
  readonly storeDuration = new Histogram({
    name: 'portcullis_store_operation_duration_seconds',
    help: 'Time of session-store operations (Redis or memory), by operation.',
    labelNames: ['operation'] as const,
    buckets: STORE_BUCKETS,
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'portcullis_store_errors_total',
    help: 'Failed session-store operations by operation and error code (unavailable, full, command_failed, ...).',
    labelNames: ['operation', 'code'] as const,
    registers: [this.registry],
  });

  private logDrops: () => number = () => 0;
  readonly logLinesDropped = new Counter({
    name: 'portcullis_log_lines_dropped_total',
    help: 'Log lines dropped because the log output could not keep up (the writer never blocks requests).',
    registers: [this.registry],
    collect: () => {
      this.logLinesDropped.reset();
      this.logLinesDropped.inc(this.logDrops());
    },
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    // Node's default metrics under their usual names (process_*, nodejs_*), so stock dashboards work.
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set({ version: packageVersion(), nodejs: process.versions.node }, 1);
    if (isClusterWorker()) joinClusterMetrics(this.registry);
  }

  readonly #durationChildren = {
    issued: this.tokenDuration.labels('issued'),
    refused: this.tokenDuration.labels('refused'),
  };

  /** A counter whose values live in plain numbers until a scrape asks for them (see HotCounts). */
  #hotCounter<L extends string>(config: { name: string; help: string; labelNames: readonly L[] }, flush: (c: Counter<L>) => void): Counter<L> {
    return new Counter<L>({
      ...config,
      registers: [this.registry],
      collect(this: Counter<L>) {
        flush(this);
      },
    });
  }

  /** Counts one answered token request: a few Map lookups and additions, no label hashing. */
  recordTokenRequest(r: {
    outcome: 'issued' | 'refused';
    grant: string;
    status: number;
    issuer: string;
    reason?: RefusalReason;
    deniedScopes?: number;
    seconds: number;
  }): void {
    this.#requestCounts.add(`${r.outcome} ${r.grant} ${r.status} ${r.issuer}`, () => ({
      outcome: r.outcome,
      grant: r.grant,
      status: String(r.status),
      issuer: r.issuer,
    }));
    this.#durationChildren[r.outcome].observe(r.seconds);
    if (r.outcome === 'refused') {
      const reason = r.reason ?? 'internal';
      this.#refusalCounts.add(`${reason} ${r.issuer}`, () => ({ reason, issuer: r.issuer }));
      if (r.status === 429) this.#otherCounts.rateLimited += 1;
    }
    if (r.deniedScopes) this.#otherCounts.deniedScopes += r.deniedScopes;
  }

  /** Where portcullis_log_lines_dropped_total reads its value (the logger's own count). */
  trackLogDrops(source: () => number): void {
    this.logDrops = source;
  }

  setPolicyVersion(version: string): void {
    this.policyInfo.reset();
    this.policyInfo.set({ version }, 1);
  }

  /** The /metrics answer: this process's metrics, or the sum over all workers in a cluster worker. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    if (isClusterWorker()) {
      const body = await clusterMetricsText(this.registry);
      if (body !== undefined) return { contentType: this.registry.contentType, body };
    }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
