/** Logs (pino, redacted, batched) and Prometheus metrics. */
export { createLogger, flushLogs, logOutputStats, type Logger, type LogOutputOptions, type LogOutputStats } from './logger.js';
export { Metrics, NO_ISSUER, REFUSAL_REASONS, refusalReason, type RefusalReason } from './metrics.js';
export { instrumentIssuerFetch, instrumentStore } from './instrument.js';
export { serveClusterMetrics } from './cluster-metrics.js';
