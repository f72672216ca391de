import { Command } from 'commander';
import { configJsonSchema, loadConfig } from '../config/index.js';
import { buildBroker, type Broker } from '../broker/index.js';
import { createLogger } from '../observability/index.js';

/** What `config check --json` prints: the facts an operator copies into the registry and CI. */
function report(broker: Broker, source: string | undefined): Record<string, unknown> {
  const { config } = broker;
  return {
    ok: true,
    source: source ?? null,
    publicUrl: broker.publicUrl,
    registry: { realm: `${broker.publicUrl}/token`, issuer: config.token.issuer, services: config.token.services },
    signingKeys: broker.keyRing.keys.map((k) => ({ id: k.id, alg: k.alg, active: k.active, kidMode: k.kidMode, kid: k.kid })),
    store: config.store.type,
    refreshTokens: broker.sessions.refreshEnabled,
    rateLimits: config.sessions.rateLimits.enabled ? { onStoreFailure: config.sessions.rateLimits.onStoreFailure } : false,
    policy: { file: config.policy.file ?? null, version: broker.policy().version },
    issuers: config.issuers.map((i) => ({ id: i.id, issuer: i.issuer, audiences: i.audiences })),
    devIssuer: config.devIssuer.enabled,
    summary: broker.summary,
  };
}

/** `portcullis config check|schema`. */
export function configCommand(): Command {
  const config = new Command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate the configuration, load keys and compile the policy, then print what the server would do; writes nothing')
    .option('-c, --config <file>', 'configuration file (default: $PORTCULLIS_CONFIG, else embedded defaults)')
    .option('--json', 'one JSON object ({"ok": false, "error": ...} and exit status 1 when the configuration is unusable)')
    .action(async (opts: { config?: string; json?: boolean }) => {
      let broker: Broker | undefined;
      try {
        const loaded = await loadConfig(opts.config);
        // A dry run: what serve would generate in dataDir (signing key, development issuer key) stays in memory.
        broker = await buildBroker(loaded, { logger: createLogger('warn', process.stderr), dryRun: true });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(report(broker, loaded.source ?? undefined), null, 2)}\n`
            : `configuration OK: ${loaded.source ?? 'embedded defaults'}\n${broker.summary.map((l) => `  ${l}\n`).join('')}`,
        );
      } catch (err) {
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) })}\n`);
        throw err;
      } finally {
        await broker?.close();
      }
    });
  config
    .command('schema')
    .description("print the configuration file's JSON Schema (for editors and Helm's values.schema.json)")
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
  return config;
}
