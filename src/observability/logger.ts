import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const FLUSH_INTERVAL_MS = 1000;
/** Bytes of log lines held while the output is slower than the broker (about 20,000 audit records). */
const DEFAULT_MAX_BUFFER_BYTES = 8 * 1024 * 1024;
/** While lines keep being dropped, repeat the warning at most this often. */
const DROP_WARNING_INTERVAL_MS = 60_000;
/** How long flushLogs waits for a stalled output before giving up (shutdown must stay bounded). */
const FLUSH_TIMEOUT_MS = 2_000;

export interface LogOutputOptions {
  /** File descriptor to write to (default 1, stdout). */
  fd?: number;
  /** Bound on buffered, not yet written bytes; lines beyond it are dropped and counted. */
  maxBufferBytes?: number;
  /** How often buffered lines are pushed out (default 1 s). */
  flushIntervalMs?: number;
}

/** What the asynchronous writer did; for metrics and tests. */
export interface LogOutputStats {
  /** Lines dropped because the output could not keep up, since start. */
  droppedLines: number;
  /** Bytes accepted but not yet written. */
  bufferedBytes: number;
}

/** The parts of pino's SonicBoom destination used here. */
interface AsyncDestination extends NodeJS.EventEmitter {
  flush(cb: (err?: Error) => void): void;
}

const outputs = new WeakMap<Logger, () => LogOutputStats>();

/**
 * JSON logs on stdout. Credentials never reach a log line: the redact list is a
 * second line of defence behind the rule that code logs token hashes only.
 *
 * Without an explicit destination, lines go to stdout through an asynchronous
 * writer that batches up to 16 KiB and flushes at least every second: one
 * write() per audit record cost about 70 µs of CPU per token request here
 * (docs/performance.md). A hard crash can lose the last second of lines;
 * `flushLogs` (and pino's exit hook) write out the rest on a normal exit.
 *
 * When the output is slower than the broker (a stalled pipe, a slow log agent), the
 * writer neither blocks requests nor grows the heap: it holds at most `maxBufferBytes`,
 * drops further lines and counts them (`portcullis_log_lines_dropped_total`), and says
 * so in one warning line once the output has caught up again.
 */
export function createLogger(
  level: LoggerOptions['level'] = 'info',
  destination?: NodeJS.WritableStream,
  output: LogOutputOptions = {},
): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'portcullis' },
    redact: {
      paths: ['password', 'token', 'refresh_token', 'subject_token', 'authorization', '*.password', '*.token', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  if (destination) return pino(options, destination as pino.DestinationStream);

  const maxLength = output.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  // 16 KiB per write (about 20 audit records): each write is a hand-off to libuv's thread pool and back.
  // Buffer mode: in utf8 mode SonicBoom measures its pending string with Buffer.byteLength on every
  // line, which flattens it, so each audit record copied the whole pending batch again (about 10 KB
  // of garbage per token request). Lines go in as Buffers; the batch is joined once per write(2).
  const sonic = pino.destination({ dest: output.fd ?? 1, sync: false, minLength: 16 * 1024, maxWrite: 64 * 1024, maxLength, contentMode: 'buffer' });
  const writeBuffer = (sonic.write as unknown as (line: Buffer) => boolean).bind(sonic);
  // An instance property, so pino's EPIPE handler (which replaces `write` with a no-op) still wins.
  sonic.write = (line: string): boolean => writeBuffer(Buffer.from(line));
  const dest = sonic as unknown as AsyncDestination;
  const logger = pino(options, sonic);

  const bufferedBytes = (): number => (sonic as unknown as { _len: number })._len;
  let dropped = 0;
  let unreported = 0;
  let droppedAtLastTick = 0;
  /** When the oldest unreported drop happened. */
  let unreportedSince = 0;
  dest.on('drop', () => {
    if (unreported === 0) unreportedSince = Date.now();
    dropped += 1;
    unreported += 1;
  });
  // One flush at a time: each flush waits for 'drain' with a listener of its own, so
  // flushing on every tick while a write is stuck would pile up listeners without bound.
  let flushing = false;
  const tick = (): void => {
    // Report once the output has caught up (no drop since the last tick, buffer half empty):
    // a warning written into a full buffer would only be dropped itself.
    const caughtUp = dropped === droppedAtLastTick && bufferedBytes() < maxLength / 2;
    droppedAtLastTick = dropped;
    if (unreported > 0 && (caughtUp || Date.now() - unreportedSince >= DROP_WARNING_INTERVAL_MS)) {
      const lines = unreported;
      unreported = 0;
      logger.warn({ droppedLines: lines, droppedTotal: dropped }, 'log output could not keep up: lines dropped');
    }
    if (flushing) return;
    flushing = true;
    dest.flush(() => {
      flushing = false;
    });
  };
  setInterval(tick, output.flushIntervalMs ?? FLUSH_INTERVAL_MS).unref();
  outputs.set(logger, () => ({ droppedLines: dropped, bufferedBytes: bufferedBytes() }));
  return logger;
}

/** Counters of the asynchronous writer; zeros for a logger on an explicit destination. */
export function logOutputStats(logger: Logger): LogOutputStats {
  return outputs.get(logger)?.() ?? { droppedLines: 0, bufferedBytes: 0 };
}

/** Writes out whatever the asynchronous destination still buffers; gives up after a bound when the output is stuck. */
export function flushLogs(logger: Logger, timeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
