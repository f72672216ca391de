import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_MAIN = path.join(ROOT, 'src/cli/main.ts');
/** tsx's loader by absolute URL, so the CLI runs from any working directory. */
export const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** Node arguments that run the CLI from source: [...cliArgs(), 'serve', ...]. */
export function cliArgs(): string[] {
  return ['--import', TSX_LOADER, CLI_MAIN];
}
