import { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { openSharedSessions } from '../broker/index.js';
import type { SessionFilter, SessionService, SessionSummary } from '../sessions/index.js';

interface FilterOptions {
  config?: string;
  id?: string;
  subject?: string;
  issuer?: string;
  rule?: string;
  tokenStdin?: boolean;
  all?: boolean;
  json?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

async function filterOf(opts: FilterOptions): Promise<SessionFilter> {
  const filter: { -readonly [K in keyof SessionFilter]: SessionFilter[K] } = {};
  if (opts.id) filter.id = opts.id;
  if (opts.subject) filter.subject = opts.subject;
  if (opts.issuer) filter.issuer = opts.issuer;
  if (opts.rule) filter.rule = opts.rule;
  // A refresh token is a credential: stdin only, so it never sits in shell history or `ps`.
  if (opts.tokenStdin) filter.token = await readStdin();
  if (opts.all) filter.all = true;
  return filter;
}

/** Runs `fn` against the sessions in the configured shared store. */
async function withSessions<T>(configPath: string | undefined, fn: (s: SessionService) => Promise<T>): Promise<T> {
  const { config } = await loadConfig(configPath);
  const shared = await openSharedSessions(config);
  try {
    return await fn(shared.sessions);
  } finally {
    await shared.close();
  }
}

function line(s: SessionSummary): string {
  return [s.id, s.kind, s.origin, s.issuerId, s.subject, s.service, `expires ${s.expiresAt}`, s.rules.length ? `rules ${s.rules.join(',')}` : ''].filter(Boolean).join('  ');
}

const filterFlags = (cmd: Command): Command =>
  cmd
    .option('-c, --config <file>', 'configuration file (default: $PORTCULLIS_CONFIG)')
    .option('--id <session>', 'a session id (from `sessions list`)')
    .option('--subject <sub>', 'the identity\'s `sub`')
    .option('--issuer <iss>', 'issuer URL or configured issuer id')
    .option('--rule <id>', 'sessions a policy rule matched at login')
    .option('--token-stdin', 'the session of the refresh token read from stdin');

/** `portcullis sessions list|revoke`: refresh sessions in the shared store. */
export function sessionsCommand(): Command {
  const cmd = new Command('sessions').description('list and revoke refresh-token sessions (redis store)');
  filterFlags(cmd.command('list').description('list sessions (all when no filter is given)'))
    .option('--json', 'one JSON array')
    .action(async (opts: FilterOptions) => {
      const filter = await filterOf(opts);
      const empty = Object.keys(filter).length === 0;
      const found = await withSessions(opts.config, (s) => s.list(empty ? { all: true } : filter));
      process.stdout.write(opts.json ? `${JSON.stringify(found, null, 2)}\n` : found.map((s) => `${line(s)}\n`).join('') || 'no sessions\n');
    });
  filterFlags(cmd.command('revoke').description('end matching sessions at once, at every replica'))
    .option('--all', 'every session')
    .option('--json', 'print {"revoked": <count>}')
    .action(async (opts: FilterOptions, command: Command) => {
      const filter = await filterOf(opts);
      if (Object.keys(filter).length === 0) {
        // A usage error: exit status 2, like commander's own.
        command.error('error: sessions revoke: give --id, --subject, --issuer, --rule, --token-stdin or --all', { exitCode: 2, code: 'portcullis.usage' });
      }
      const n = await withSessions(opts.config, (s) => s.revoke(filter));
      process.stdout.write(opts.json ? `${JSON.stringify({ revoked: n })}\n` : `revoked ${n} session${n === 1 ? '' : 's'}\n`);
    });
  return cmd;
}
