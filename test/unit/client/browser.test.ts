import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { canOpenBrowser, openBrowser, openerCommand } from '../../../src/client/browser.js';

const URL_WITH_QUERY = 'http://127.0.0.1:5001/login/cli?redirect_uri=x&state=y';

describe('opening the browser', () => {
  it('a Linux session needs a display (or $BROWSER); an SSH session without one gets the device flow', () => {
    expect(canOpenBrowser({}, 'linux')).toBe(false);
    expect(canOpenBrowser({ SSH_CONNECTION: '1 2 3 4' }, 'linux')).toBe(false);
    expect(canOpenBrowser({ DISPLAY: ':0' }, 'linux')).toBe(true);
    expect(canOpenBrowser({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true);
    expect(canOpenBrowser({ BROWSER: 'firefox' }, 'linux')).toBe(true);
    expect(canOpenBrowser({}, 'darwin')).toBe(true);
    expect(canOpenBrowser({}, 'win32')).toBe(true);
  });

  it('uses the platform opener, with the URL as one argument (never through a shell)', () => {
    expect(openerCommand(URL_WITH_QUERY, {}, 'linux')).toEqual(['xdg-open', [URL_WITH_QUERY]]);
    expect(openerCommand(URL_WITH_QUERY, {}, 'darwin')).toEqual(['open', [URL_WITH_QUERY]]);
    expect(openerCommand(URL_WITH_QUERY, {}, 'win32')).toEqual(['rundll32', ['url.dll,FileProtocolHandler', URL_WITH_QUERY]]);
    expect(openerCommand(URL_WITH_QUERY, { BROWSER: 'firefox' }, 'linux')).toEqual(['firefox', [URL_WITH_QUERY]]);
  });

  it('starts the opener and reports whether it could', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-opener-'));
    try {
      const out = path.join(dir, 'opened');
      const script = path.join(dir, 'opener.sh');
      await writeFile(script, `#!/bin/sh\nprintf '%s' "$1" > '${out}'\n`, { mode: 0o755 });
      expect(await openBrowser(URL_WITH_QUERY, { BROWSER: script }, 'linux')).toBe(true);
      for (let i = 0; i < 50; i++) {
        const got = await readFile(out, 'utf8').catch(() => '');
        if (got) break;
        await sleep(50);
      }
      expect(await readFile(out, 'utf8')).toBe(URL_WITH_QUERY);
      expect(await openBrowser(URL_WITH_QUERY, { BROWSER: path.join(dir, 'missing') }, 'linux')).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
