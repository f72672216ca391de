import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/index.js';
import { DevIssuer } from '../dev/index.js';
import { DEV_ISSUER_PATH, publicUrlOf } from '../broker/index.js';
import { port, seconds } from './options.js';

async function readClaims(value: string): Promise<Record<string, unknown>> {
  const text = value.startsWith('@') ? await readFile(value.slice(1), 'utf8') : value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError('--claims: not valid JSON (give a JSON object, or @file.json)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('--claims: expected a JSON object');
  return parsed as Record<string, unknown>;
}

/** `portcullis dev token`: mint an ID token from the local development issuer. */
export function devCommand(): Command {
  const dev = new Command('dev').description('development helpers (the local development issuer)');
  dev
    .command('token')
    .description('print an ID token from the local development issuer, for `docker login -u oidc --password-stdin`')
    .option('-c, --config <file>', 'configuration file (default: $PORTCULLIS_CONFIG, else embedded defaults)')
    .option('--claims <json|@file>', 'extra claims, as a JSON object or @file.json')
    .option('--sub <subject>', 'the subject (default dev:developer)')
    .option('--aud <audience>', 'the audience (default: the configured dev issuer audience)')
    .option('--lifetime <seconds>', 'token lifetime in seconds (default 300)', seconds)
    .option('-p, --port <port>', 'the port `portcullis serve --port` listens on, if not the configured one', port)
    .action(async (opts: { config?: string; claims?: string; sub?: string; aud?: string; lifetime?: number; port?: number }) => {
      const { config } = await loadConfig(opts.config);
      if (opts.port !== undefined) config.server.port = opts.port;
      if (!config.devIssuer.enabled) {
        throw new ConfigError('devIssuer.enabled is false in this configuration: the development issuer is off');
      }
      const issuer = await DevIssuer.open(config.dataDir, `${publicUrlOf(config)}${DEV_ISSUER_PATH}`);
      const claims = opts.claims ? await readClaims(opts.claims) : {};
      const token = issuer.mint(claims, {
        audience: opts.aud ?? config.devIssuer.audience,
        ...(opts.sub !== undefined ? { subject: opts.sub } : {}),
        ...(opts.lifetime !== undefined ? { lifetimeSeconds: opts.lifetime } : {}),
      });
      process.stdout.write(`${token}\n`);
    });
  return dev;
}
