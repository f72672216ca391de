import cluster, { type Worker } from 'node:cluster';
import { InvalidArgumentError } from 'commander';
import type { Config } from '../config/index.js';
import { DevIssuer } from '../dev/index.js';
import { DEV_ISSUER_PATH, loadKeyRing, publicUrlOf } from '../broker/index.js';
import type { Logger } from '../observability/index.js';
import { isClusterWorker, serveClusterMetrics } from '../observability/cluster-metrics.js';

/** `--workers <n>`: a positive integer, at most 64. */
export function parseWorkerCount(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isInteger(n) || n < 1 || n > 64) {
    throw new InvalidArgumentError('expected an integer from 1 to 64');
  }
  return n;
}

/** True in a process forked by runPrimary (one definition, shared with the metrics aggregation). */
export { isClusterWorker };

/** True for the one worker that should print the start-up summary (or when not clustered). */
export function isFirstWorker(): boolean {
  return !cluster.isWorker || cluster.worker?.id === 1;
}

/**
 * The cluster primary: serves no requests. It creates on-disk state once (generated signing key,
 * development issuer key) so workers do not race to create different keys, forks `count` workers
 * that share the listening port, forwards SIGHUP (policy reload) and SIGTERM/SIGINT, and replaces a
 * worker that dies after it started listening. A worker that dies before listening (bad
 * configuration) stops the whole group: re-forking would only repeat the failure.
 */
export async function runPrimary(count: number, config: Config, logger: Logger): Promise<void> {
  await loadKeyRing(config);
  if (config.devIssuer.enabled) await DevIssuer.open(config.dataDir, `${publicUrlOf(config)}${DEV_ISSUER_PATH}`);

  // Any worker may answer GET /metrics: it asks this process for the sum over all of them.
  if (config.metrics.enabled) serveClusterMetrics();

  const listening = new Set<number>();
  let stopping = false;
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.once('listening', () => listening.add(worker.id));
    return worker;
  };
  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: live().length }, 'primary: stopping workers');
    for (const w of live()) w.process.kill('SIGTERM');
    // Each worker drains and exits within the same bound; a worker still there at the end is killed.
    const force = setTimeout(() => {
      for (const w of live()) w.process.kill('SIGKILL');
      process.exit(1);
    }, config.server.shutdown.timeout * 1000);
    force.unref();
  };

  cluster.on('exit', (worker, code, signal) => {
    const started = listening.delete(worker.id);
    if (stopping) {
      if (code !== 0) process.exitCode = 1;
      if (live().length === 0) process.exit();
      return;
    }
    if (!started) {
      logger.error({ worker: worker.id, code, signal }, 'primary: worker exited before listening; stopping');
      process.exitCode = 1;
      stop('SIGTERM');
      if (live().length === 0) process.exit(1);
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'primary: worker died; starting a replacement');
    fork();
  });

  process.on('SIGHUP', () => {
    for (const w of live()) w.process.kill('SIGHUP');
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < count; i += 1) fork();
  logger.info({ workers: count, pid: process.pid }, 'primary: workers started');
}
