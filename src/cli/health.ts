import { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { port } from './options.js';

/** The address a probe inside the container or host uses for the configured listener. */
function probeHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * `portcullis health`: GET /healthz on the configured listener, exit 0 when it
 * answers 200. The image's HEALTHCHECK runs it, so the check follows
 * server.port in the configuration instead of a port baked into the image.
 */
export function healthCommand(): Command {
  return new Command('health')
    .description('probe /healthz of the broker this configuration describes (exit 0 when healthy); for container health checks')
    .option('-c, --config <file>', 'configuration file (default: $PORTCULLIS_CONFIG, else embedded defaults)')
    .option('-p, --port <port>', 'probe this port instead of server.port (when serve runs with --port)', port)
    .option('--timeout <ms>', 'give up after this many milliseconds', (v) => Math.max(100, Math.min(60_000, Number(v) || 2_000)), 2_000)
    .action(async (opts: { config?: string; port?: number; timeout: number }) => {
      const { config } = await loadConfig(opts.config);
      const url = `http://${probeHost(config.server.host)}:${opts.port ?? config.server.port}/healthz`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeout) });
        await res.arrayBuffer();
        if (res.ok) {
          process.stdout.write(`healthy: ${url}\n`);
          return;
        }
        process.stderr.write(`unhealthy: ${url} answered ${res.status}\n`);
      } catch (err) {
        process.stderr.write(`unhealthy: ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      process.exitCode = 1;
    });
}
