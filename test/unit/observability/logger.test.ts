import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, flushLogs, logOutputStats } from '../../../src/observability/logger.js';
import { Metrics } from '../../../src/observability/metrics.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A named pipe nobody reads: writes fill the kernel's pipe buffer (64 KiB) and then fail
 * with EAGAIN, like stdout into a log agent that has stalled.
 */
function stalledPipe(): { fd: number; drain(): string; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-log-'));
  const path = join(dir, 'out');
  execFileSync('mkfifo', [path]);
  // O_RDWR: opening a FIFO for writing alone would wait for a reader.
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(1 << 16);
  return {
    fd,
    drain() {
      let text = '';
      for (;;) {
        try {
          const n = readSync(reader, buf, 0, buf.length, null);
          if (n <= 0) break;
          text += buf.toString('utf8', 0, n);
        } catch {
          break; // EAGAIN: empty for now
        }
      }
      return text;
    },
    close() {
      closeSync(reader);
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('asynchronous log writer under a stalled output', () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  let pipe: ReturnType<typeof stalledPipe> | undefined;

  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
    pipe?.close();
    pipe = undefined;
  });

  it('keeps a bounded buffer, drops and counts the excess, adds no listener per flush, and warns once', async () => {
    process.on('warning', onWarning);
    pipe = stalledPipe();
    const maxBufferBytes = 256 * 1024;
    const logger = createLogger('info', undefined, { fd: pipe.fd, maxBufferBytes, flushIntervalMs: 5 });
    const metrics = new Metrics({ processMetrics: false });
    metrics.trackLogDrops(() => logOutputStats(logger).droppedLines);

    // ~20 MB of audit-sized lines, in turns so the flush timer runs in between (60+ ticks).
    const record = { decision: 'd'.repeat(16), outcome: 'refused', reason: 'session store unavailable; retry shortly', clientIp: '127.0.0.1', pad: 'x'.repeat(100) };
    let peak = 0;
    for (let batch = 0; batch < 80; batch += 1) {
      for (let i = 0; i < 1_000; i += 1) logger.info({ audit: record, n: i }, 'token refused');
      peak = Math.max(peak, logOutputStats(logger).bufferedBytes);
      await sleep(5);
    }
    const stats = logOutputStats(logger);
    expect(peak).toBeLessThanOrEqual(maxBufferBytes);
    expect(stats.droppedLines).toBeGreaterThan(50_000);
    // Still stalled: no warning line yet (it would only be dropped), and no listener pile-up.
    const sonic = (logger as unknown as Record<symbol, NodeJS.EventEmitter>)[pino.symbols.streamSym] as NodeJS.EventEmitter;
    // At most one pending flush (a 'drain' and an 'error' listener) beside pino's own, after 60+ ticks.
    expect(sonic.listenerCount('drain')).toBeLessThanOrEqual(2);
    expect(sonic.listenerCount('error')).toBeLessThanOrEqual(2);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('portcullis_log_lines_dropped_total')).toContain(
      `portcullis_log_lines_dropped_total ${stats.droppedLines}`,
    );

    // The reader catches up: what was buffered is written, then exactly one warning line.
    let text = '';
    const deadline = Date.now() + 5_000;
    while (!text.includes('lines dropped') && Date.now() < deadline) {
      text += pipe.drain();
      await sleep(10);
    }
    await sleep(50);
    text += pipe.drain();
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; droppedLines?: number });
    const notices = lines.filter((l) => l.msg === 'log output could not keep up: lines dropped');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.droppedLines).toBe(logOutputStats(logger).droppedLines);
    // Lines that were not dropped arrive whole.
    expect(lines.filter((l) => l.msg === 'token refused').length).toBe(80_000 - stats.droppedLines);
    await flushLogs(logger, 1_000);
  });

  it('writes lines of any UTF-8 whole, in order, and counts buffered bytes as bytes', async () => {
    pipe = stalledPipe();
    const logger = createLogger('info', undefined, { fd: pipe.fd, maxBufferBytes: 1 << 20, flushIntervalMs: 1_000 });
    // Multi-byte characters: a writer that measured UTF-16 units, or split a batch inside a
    // character, would under-count what it holds or corrupt the line.
    const subject = 'repo:ünïcode-örg/ɾepo-☃-🚢:ref:refs/heads/main';
    for (let i = 0; i < 2_000; i += 1) logger.info({ audit: { subject, n: i } }, 'token issued');
    const { bufferedBytes } = logOutputStats(logger);
    const lineBytes = Buffer.byteLength(JSON.stringify({ audit: { subject, n: 1000 } }));
    // 2,000 lines of more than lineBytes bytes each are either written to the pipe (64 KiB) or held.
    expect(bufferedBytes).toBeGreaterThan(2_000 * lineBytes - (1 << 16));
    let text = '';
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      text += pipe.drain();
      if (text.split('\n').filter(Boolean).length === 2_000) break;
      await sleep(10);
    }
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { audit: { subject: string; n: number } });
    expect(lines.map((l) => l.audit.n)).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    expect(lines.every((l) => l.audit.subject === subject)).toBe(true);
    await flushLogs(logger, 1_000);
  });

  it('flushLogs gives up after its bound when the output never drains', async () => {
    pipe = stalledPipe();
    const logger = createLogger('info', undefined, { fd: pipe.fd, maxBufferBytes: 1 << 20, flushIntervalMs: 1_000 });
    for (let i = 0; i < 5_000; i += 1) logger.info({ pad: 'y'.repeat(100) }, 'filler');
    const started = Date.now();
    await flushLogs(logger, 200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(logOutputStats(logger).bufferedBytes).toBeGreaterThan(0);
    pipe.drain();
  });
});
