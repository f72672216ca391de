#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config/index.js';
import { PortcullisError } from '../lib/index.js';
import { loadKeyRing } from '../broker/index.js';
import { serveCommand } from './serve.js';
import { USAGE_EXIT_CODE, UsageError, exitStatusOf, throwInsteadOfExit } from './usage.js';

const program = new Command('portcullis')
  .description('OIDC-federated token server for container registries')
  .version('0.1.0')
  .showHelpAfterError();

program.addCommand(serveCommand(), { isDefault: false });
// The server is a long-lived process: it does not load the other commands' modules (the
// client, the login flows, policy authoring), whose code and data would stay resident
// (about 7 MB of RSS). Every other invocation, help included, sees all commands in this order.
if (process.argv[2] !== 'serve') {
  const [{ keysCommand }, { configCommand }, { devCommand }, { policyCommand }, { sessionsCommand }, { healthCommand }, { loginCommand, logoutCommand }] =
    await Promise.all([import('./keys.js'), import('./config.js'), import('./dev.js'), import('./policy.js'), import('./sessions.js'), import('./health.js'), import('./login.js')]);
  program.addCommand(
    keysCommand({
      loadKeyRing: async (configPath) => (await loadKeyRing((await loadConfig(configPath)).config)).ring,
    }),
  );
  program.addCommand(configCommand());
  program.addCommand(devCommand());
  program.addCommand(policyCommand());
  program.addCommand(sessionsCommand());
  program.addCommand(healthCommand());
  program.addCommand(loginCommand());
  program.addCommand(logoutCommand());
}
throwInsteadOfExit(program);

/** Expected failures are one line for a person, exit status 1 (2 for usage errors); no stack traces. */
function expected(err: unknown): string | null {
  return err instanceof PortcullisError ? err.message : null;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(exitStatusOf(err));
  if (err instanceof UsageError) {
    process.stderr.write(`portcullis: ${err.message}\n`);
    process.exit(USAGE_EXIT_CODE);
  }
  const message = expected(err);
  if (message === null) throw err;
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}
