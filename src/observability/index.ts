/** Logs (pino, redacted, batched) and Prometheus metrics. */
export { createLogger, flushLogs, logOutputStats, type Logger, type LogOutputOptions, type LogOutputStats } from './logger.js';
export { Metrics } from './metrics.js';
