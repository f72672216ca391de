import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics. One registry per broker so tests and several brokers in
 * one process never share counters.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly tokenRequests = new Counter({
    name: 'portcullis_token_requests_total',
    help: 'Token requests by outcome (issued, refused) and grant (get, password, refresh_token, token-exchange).',
    labelNames: ['outcome', 'grant', 'status'] as const,
    registers: [this.registry],
  });
  readonly tokenDuration = new Histogram({
    name: 'portcullis_token_request_duration_seconds',
    help: 'Time to answer a token request.',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly deniedScopes = new Counter({
    name: 'portcullis_denied_scopes_total',
    help: 'Requested resources for which at least one action was not granted.',
    registers: [this.registry],
  });
  readonly policyInfo = new Gauge({
    name: 'portcullis_policy_info',
    help: 'The loaded policy version (content hash) as a label; value 1.',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });
  readonly policyReloads = new Counter({
    name: 'portcullis_policy_reloads_total',
    help: 'Policy reload attempts by result (ok, error).',
    labelNames: ['result'] as const,
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
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'portcullis_' });
  }

  /** Where portcullis_log_lines_dropped_total reads its value (the logger's own count). */
  trackLogDrops(source: () => number): void {
    this.logDrops = source;
  }

  setPolicyVersion(version: string): void {
    this.policyInfo.reset();
    this.policyInfo.set({ version }, 1);
  }
}
