import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const FLUSH_INTERVAL_MS = 1000;

/**
 * JSON logs on stdout. Credentials never reach a log line: the redact list is a
 * second line of defence behind the rule that code logs token hashes only.
 *
 * Without an explicit destination, lines go to stdout through an asynchronous
 * writer that batches up to 4 KiB and flushes at least every second: one
 * write() per audit record cost about 70 µs of CPU per token request here
 * (docs/performance.md). A hard crash can lose the last second of lines;
 * `flushLogs` (and pino's exit hook) write out the rest on a normal exit.
 */
export function createLogger(level: LoggerOptions['level'] = 'info', destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'portcullis' },
    redact: {
      paths: ['password', 'token', 'refresh_token', 'subject_token', 'authorization', '*.password', '*.token', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  if (destination) return pino(options, destination as pino.DestinationStream);
  const logger = pino(options, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
  setInterval(() => logger.flush(), FLUSH_INTERVAL_MS).unref();
  return logger;
}

/** Writes out whatever the asynchronous destination still buffers. */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
