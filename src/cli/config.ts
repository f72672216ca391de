import { Command } from 'commander';
import { configJsonSchema, loadConfig } from '../config/index.js';
import { buildBroker } from '../broker/index.js';
import { createLogger } from '../observability/index.js';

/** `portcullis config check`: everything `serve` does before it listens. */
export function configCommand(): Command {
  const config = new Command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate the configuration, load keys and compile the policy, then print what the server would do')
    .option('-c, --config <file>', 'configuration file (default: $PORTCULLIS_CONFIG, else embedded defaults)')
    .action(async (opts: { config?: string }) => {
      const loaded = await loadConfig(opts.config);
      const broker = await buildBroker(loaded, { logger: createLogger('warn', process.stderr) });
      process.stdout.write(`configuration OK: ${loaded.source ?? 'embedded defaults'}\n${broker.summary.map((l) => `  ${l}\n`).join('')}`);
      await broker.close();
    });
  config
    .command('schema')
    .description("print the configuration file's JSON Schema (for editors and Helm's values.schema.json)")
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
  return config;
}
