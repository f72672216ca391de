/** Logs (pino, redacted, batched) and Prometheus metrics. */
export { createLogger, flushLogs, type Logger } from './logger.js';
export { Metrics } from './metrics.js';
