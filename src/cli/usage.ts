import type { Command, CommanderError } from 'commander';

/** Exit status of a command used the wrong way (unknown option, missing argument, conflicting flags). */
export const USAGE_EXIT_CODE = 2;

/** The command line is wrong, not the world: main exits with USAGE_EXIT_CODE. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Throw commander's errors instead of exiting, on every command, so main decides the status. */
export function throwInsteadOfExit(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) throwInsteadOfExit(sub);
}

/**
 * The process exit status for an error commander reported: 0 for --help and
 * --version, 2 for commander's own usage errors (they all carry exit code 1),
 * otherwise the code the command chose.
 */
export function exitStatusOf(err: CommanderError): number {
  if (err.exitCode === 0) return 0;
  if (err.code.startsWith('commander.') || err.code === 'portcullis.usage') return USAGE_EXIT_CODE;
  return err.exitCode;
}

