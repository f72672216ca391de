import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout. Credentials never reach a log line: the redact list is a
 * second line of defence behind the rule that code logs token hashes only.
 *
 * Without an explicit destination, lines go to stdout through an asynchronous
 * buffered writer: one synchronous write() per audit record cost about a sixth
 * of a token request (docs/performance.md). Call `flushLogs` before exiting.
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
  return pino(options, pino.destination({ dest: 1, sync: false, minLength: 0 }));
}

/** Writes out whatever the asynchronous destination still buffers. */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
