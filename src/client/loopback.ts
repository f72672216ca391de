import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClientError } from './errors.js';

export interface LoopbackListener {
  /** `http://127.0.0.1:<port>/callback` */
  readonly redirectUri: string;
  /** Resolves with the one-time code once the browser comes back with the right state. */
  waitForCode(timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

const PAGE = (title: string, text: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
  `<title>${title}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">` +
  `<h1>${title}</h1><p>${text}</p></body></html>`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The native-app redirect target of RFC 8252: a one-request HTTP server on 127.0.0.1 and a random port.
 * Requests without the expected `state` are answered 400 and ignored, so a page that guesses the port
 * cannot end or hijack the login.
 */
export async function listenForCallback(expectedState: string): Promise<LoopbackListener> {
  let settle: { resolve: (code: string) => void; reject: (err: Error) => void } | undefined;
  let outcome: { code?: string; error?: Error } | undefined;

  const finish = (result: { code?: string; error?: Error }): void => {
    if (outcome) return;
    outcome = result;
    if (settle) {
      if (result.error) settle.reject(result.error);
      else settle.resolve(result.code as string);
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, title: string, text: string): void => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
      res.end(PAGE(title, text));
    };
    if (req.method !== 'GET' || url.pathname !== '/callback') return reply(404, 'Not found', 'Nothing here.');
    const state = url.searchParams.get('state') ?? '';
    if (outcome || !sameSecret(state, expectedState)) {
      return reply(400, 'Unknown sign-in', 'This sign-in does not belong to the waiting <code>portcullis login</code>.');
    }
    const error = url.searchParams.get('error');
    if (error !== null) {
      const description = url.searchParams.get('error_description') ?? '';
      reply(200, 'Sign-in refused', `${escapeHtml(description || error)}. You can close this window.`);
      return finish({ error: new ClientError('refused', `sign-in refused (${error})${description ? `: ${description}` : ''}`) });
    }
    const code = url.searchParams.get('code');
    if (!code) return reply(400, 'No code', 'The broker sent no code.');
    reply(200, 'Signed in', 'You are signed in. You can close this window and return to the terminal.');
    finish({ code });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    waitForCode(timeoutMs) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => finish({ error: new ClientError('refused', `no sign-in within ${Math.round(timeoutMs / 1000)} s; run the command again`) }), timeoutMs);
        timer.unref();
        settle = {
          resolve: (code) => (clearTimeout(timer), resolve(code)),
          reject: (err) => (clearTimeout(timer), reject(err)),
        };
        if (outcome?.error) settle.reject(outcome.error);
        else if (outcome) settle.resolve(outcome.code as string);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
