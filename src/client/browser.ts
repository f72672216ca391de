import { spawn } from 'node:child_process';
import type { Env } from './paths.js';

/**
 * Can this session show a browser? macOS and Windows always can; elsewhere a display is needed, and
 * an SSH session without one is the device flow's case. `$BROWSER` (the usual convention) counts.
 */
export function canOpenBrowser(env: Env, platform: NodeJS.Platform = process.platform): boolean {
  if (env.BROWSER) return true;
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

export function openerCommand(url: string, env: Env, platform: NodeJS.Platform): [string, string[]] {
  if (env.BROWSER) return [env.BROWSER, [url]];
  if (platform === 'darwin') return ['open', [url]];
  // Not `cmd /c start`: cmd would split the URL at every `&`.
  if (platform === 'win32') return ['rundll32', ['url.dll,FileProtocolHandler', url]];
  return ['xdg-open', [url]];
}

/** Starts the system browser at `url`, detached; resolves false when no opener could be started. */
export function openBrowser(url: string, env: Env, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  const [cmd, args] = openerCommand(url, env, platform);
  return new Promise((resolve) => {
    try {
      const child = spawn(cmd, args, { stdio: 'ignore', detached: true, env: { ...process.env, ...env } });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
