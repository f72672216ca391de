import { Command } from 'commander';
import { port } from './options.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { buildBroker } from '../broker/index.js';
import { createLogger, flushLogs } from '../observability/index.js';
import { isClusterWorker, isFirstWorker, parseWorkerCount, runPrimary } from './workers.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the token server (embedded development defaults when no configuration is given)')
    .option('-c, --config <file>', 'configuration file (default: $PORTCULLIS_CONFIG, else embedded defaults)')
    // --workers: begin (multi-process mode; see ./workers.ts)
    .option('-w, --workers <n>', 'processes sharing the port (node:cluster); the primary forwards SIGHUP/SIGTERM', parseWorkerCount, 1)
    .option('-p, --port <port>', 'listen on this port instead of server.port', port)
    .action(async (opts: { config?: string; workers: number; port?: number }) => {
      const loaded = await loadConfig(opts.config);
      if (opts.port !== undefined) loaded.config.server.port = opts.port;
      const logger = createLogger(loaded.config.log.level);
      if (opts.workers > 1 && loaded.config.store.type === 'memory') {
        // Each process would keep its own single-use ledger and sessions and count its own rate limits.
        throw new ConfigError(
          `--workers ${opts.workers} needs store.type: redis: with the memory store every worker keeps its own single-use ledger, sessions and rate limits (one ID token could be used ${opts.workers} times, at ${opts.workers} times the limits)`,
        );
      }
      if (opts.workers > 1 && !isClusterWorker()) {
        await runPrimary(opts.workers, loaded.config, logger);
        return;
      }
      // --workers: end
      const broker = await buildBroker(loaded, { logger });
      await broker.listen();

      const header = loaded.source ? `portcullis: configuration ${loaded.source}` : 'portcullis: no configuration file, running on embedded defaults';
      if (isFirstWorker()) process.stderr.write(`${[header, ...broker.summary].map((l) => `  ${l}`).join('\n').trimStart()}\n`);
      logger.info({ url: broker.publicUrl, policyVersion: broker.policy().version }, 'ready');

      process.on('SIGHUP', () => {
        void broker.reloadPolicy().then((r) =>
          r.ok ? logger.info({ policyVersion: r.version }, 'SIGHUP: policy reloaded') : logger.error({ err: r.error }, 'SIGHUP: policy reload failed'),
        );
      });
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        const { drainDelay, timeout } = loaded.config.server.shutdown;
        const started = Date.now();
        // A worker keeps half a second in hand so its primary, too, exits within the bound.
        const boundMs = isClusterWorker() ? Math.max(timeout * 500, timeout * 1000 - 500) : timeout * 1000;
        logger.info({ signal, drainDelaySec: drainDelay, timeoutSec: timeout }, 'shutting down: not ready, draining');
        // The bound holds whatever happens below (a stuck store, a stalled log pipe).
        const force = setTimeout(() => process.exit(1), boundMs);
        force.unref();
        // Leave room at the deadline for closing the store and writing the last log lines.
        const deadline = started + boundMs - Math.min(1_000, boundMs / 10);
        void broker
          .shutdown({ drainDelayMs: drainDelay * 1000, deadline })
          .then((clean) => {
            logger.info({ signal, ms: Date.now() - started, clean }, clean ? 'stopped: every accepted request answered' : 'stopped: connections still busy at the deadline were cut');
            return flushLogs(logger, Math.max(100, started + boundMs - Date.now() - 100)).then(() => process.exit(clean ? 0 : 1));
          })
          .catch((err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            return flushLogs(logger, 500).then(() => process.exit(1));
          });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
