import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runProcess, type RunOptions, type RunResult } from './processes.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_MAIN = path.join(ROOT, 'src/cli/main.ts');
/** tsx's loader by absolute URL, so the CLI runs from any working directory. */
export const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** Node arguments that run the CLI from source: [...cliArgs(), 'serve', ...]. */
export function cliArgs(): string[] {
  return ['--import', TSX_LOADER, CLI_MAIN];
}

/** Runs the CLI from source as a child process and collects its output. */
export function runCli(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, [...cliArgs(), ...args], { cwd: ROOT, timeoutMs: 60_000, ...opts });
}
