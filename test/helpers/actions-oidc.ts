/**
 * A loopback stand-in for GitHub Actions' ID-token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): GET with
 * the request token as Bearer and `audience` in the query → `{ "value": "<jwt>" }`, minted by a
 * TestIssuer with GitHub-shaped claims and a short lifetime.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { githubActionsClaims, type TestIssuer } from './issuer.js';

export class ActionsIdTokenEndpoint {
  /** Every token handed out, in order, with the audience asked for. */
  readonly minted: { token: string; audience: string; at: number }[] = [];
  readonly requestToken = randomBytes(24).toString('base64url');

  private constructor(
    private readonly server: Server,
    /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL (it already carries a query). */
    readonly requestUrl: string,
  ) {}

  static async start(issuer: TestIssuer, lifetimeSeconds: number, claims: Record<string, unknown> = {}): Promise<ActionsIdTokenEndpoint> {
    const holder: { e?: ActionsIdTokenEndpoint } = {};
    const server = createServer((req, res) => {
      const e = holder.e;
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (!e || url.pathname !== '/_apis/distributedtask/oidc/token') return json(404, { message: 'not found' });
      if (req.headers.authorization !== `Bearer ${e.requestToken}`) return json(401, { message: 'bad request token' });
      const audience = url.searchParams.get('audience') ?? 'https://github.com/octo-org';
      void issuer
        .mint(githubActionsClaims(claims), { audience, subject: 'repo:octo-org/octo-repo:ref:refs/heads/main', lifetimeSeconds })
        .then((token) => {
          e.minted.push({ token, audience, at: Date.now() });
          json(200, { count: 1, value: token });
        });
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = server.address() as AddressInfo;
    holder.e = new ActionsIdTokenEndpoint(server, `http://127.0.0.1:${port}/_apis/distributedtask/oidc/token?api-version=2.0`);
    return holder.e;
  }

  /** The two variables a job with `permissions: id-token: write` sees. */
  env(): Record<string, string> {
    return { ACTIONS_ID_TOKEN_REQUEST_URL: this.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: this.requestToken };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
