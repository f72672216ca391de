/**
 * A loopback stand-in for the broker's login endpoints (the login contract: /.well-known/portcullis,
 * /login/cli, /login/device/code, /login/token, /login/revoke), used to drive the client's flows
 * before the broker side exists. Sign-in itself is simulated: "the person" is a TestIssuer ID token,
 * traded at the REAL broker's /token for a real refresh token, so every later registry request goes
 * through the real broker. Revocation uses the real broker's session service.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestIssuer } from './issuer.js';
import { basic, type TestBroker } from './broker.js';

export interface StandinOptions {
  broker: TestBroker;
  issuer: TestIssuer;
  audience: string;
  service: string;
  /** Registries announced for --configure. */
  registries: string[];
  /** Claims of the signed-in person. */
  claims: Record<string, unknown>;
  subject: string;
  /** Device flow: seconds between polls the stand-in asks for. */
  interval?: number;
}

interface PendingCode {
  challenge: string;
  redirectUri: string;
}

interface DeviceGrant {
  userCode: string;
  status: 'pending' | 'approved' | 'denied';
  lastPoll: number;
  interval: number;
  expiresAt: number;
}

export class LoginStandin {
  /** Requests by "METHOD path". */
  readonly seen: string[] = [];
  readonly codes = new Map<string, PendingCode>();
  readonly devices = new Map<string, DeviceGrant>();
  /** When set, /login/cli sends the browser back with error=access_denied. */
  refuseSignIn = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: StandinOptions,
  ) {}

  static async start(options: StandinOptions): Promise<LoginStandin> {
    const holder: { s?: LoginStandin } = {};
    const server = createServer((req, res) => {
      void holder.s?.handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = server.address() as AddressInfo;
    holder.s = new LoginStandin(server, `http://127.0.0.1:${port}`, options);
    return holder.s;
  }

  /** Approve or refuse a device code by its user code, as the person would on /device. */
  decide(userCode: string, decision: 'approved' | 'denied'): void {
    for (const grant of this.devices.values()) if (grant.userCode === userCode) grant.status = decision;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** A real refresh token from the real broker, for the simulated person. */
  private async mintRefresh(): Promise<Record<string, unknown>> {
    const idToken = await this.options.issuer.mint(this.options.claims, { audience: this.options.audience, subject: this.options.subject });
    const res = await fetch(`${this.options.broker.url}/token?service=${this.options.service}&offline_token=true&client_id=portcullis-cli`, {
      headers: { authorization: basic('oidc', idToken) },
    });
    if (res.status !== 200) throw new Error(`broker refused the stand-in's login: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { refresh_token?: string };
    if (!body.refresh_token) throw new Error('the broker returned no refresh token: are refresh sessions enabled?');
    return {
      refresh_token: body.refresh_token,
      token_type: 'refresh',
      expires_in: 3600,
      subject: this.options.subject,
      issuer: this.options.issuer.issuer,
      service: this.options.service,
      name: 'Test Person',
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    this.seen.push(`${req.method} ${url.pathname}`);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const oauth = (status: number, error: string, description = ''): void => json(status, { error, error_description: description });
    const form = async (): Promise<URLSearchParams> => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    };

    if (req.method === 'GET' && url.pathname === '/.well-known/portcullis') {
      return json(200, {
        broker: this.url,
        token_endpoint: `${this.options.broker.url}/token`,
        services: [this.options.service],
        registries: this.options.registries,
        login: {
          authorization_endpoint: `${this.url}/login/cli`,
          device_authorization_endpoint: `${this.url}/login/device/code`,
          token_endpoint: `${this.url}/login/token`,
          revocation_endpoint: `${this.url}/login/revoke`,
          providers: [{ id: 'corp', name: 'Corp SSO' }],
        },
      });
    }
    if (req.method === 'GET' && url.pathname === '/login/cli') {
      const redirect = url.searchParams.get('redirect_uri') ?? '';
      if (!/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+\//.test(redirect)) return void res.writeHead(400).end('not a loopback redirect target');
      if (url.searchParams.get('code_challenge_method') !== 'S256') return void res.writeHead(400).end('S256 only');
      const back = new URL(redirect);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      if (this.refuseSignIn) {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'the person refused');
      } else {
        const code = randomBytes(16).toString('base64url');
        this.codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri: redirect });
        back.searchParams.set('code', code);
      }
      return void res.writeHead(302, { location: back.href }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/device/code') {
      const f = await form();
      if (f.get('client_id') !== 'portcullis-cli') return oauth(401, 'invalid_client');
      const deviceCode = randomBytes(16).toString('base64url');
      const userCode = `${randomBytes(2).toString('hex').toUpperCase()}-${randomBytes(2).toString('hex').toUpperCase()}`;
      const interval = this.options.interval ?? 1;
      this.devices.set(deviceCode, { userCode, status: 'pending', lastPoll: 0, interval, expiresAt: Date.now() + 60_000 });
      return json(200, {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: `${this.url}/device`,
        verification_uri_complete: `${this.url}/device?user_code=${userCode}`,
        expires_in: 60,
        interval,
      });
    }
    if (req.method === 'POST' && url.pathname === '/login/token') {
      const f = await form();
      if (f.get('grant_type') === 'authorization_code') {
        const pending = this.codes.get(f.get('code') ?? '');
        this.codes.delete(f.get('code') ?? '');
        const challenge = createHash('sha256').update(f.get('code_verifier') ?? '').digest('base64url');
        if (!pending || pending.challenge !== challenge || pending.redirectUri !== f.get('redirect_uri')) return oauth(400, 'invalid_grant');
        return json(200, await this.mintRefresh());
      }
      if (f.get('grant_type') === 'urn:ietf:params:oauth:grant-type:device_code') {
        const grant = this.devices.get(f.get('device_code') ?? '');
        if (!grant) return oauth(400, 'invalid_grant');
        if (Date.now() > grant.expiresAt) return oauth(400, 'expired_token');
        const now = Date.now();
        if (now - grant.lastPoll < grant.interval * 1000 - 100) {
          grant.lastPoll = now;
          grant.interval += 5;
          return oauth(400, 'slow_down');
        }
        grant.lastPoll = now;
        if (grant.status === 'pending') return oauth(400, 'authorization_pending');
        this.devices.delete(f.get('device_code') ?? '');
        if (grant.status === 'denied') return oauth(400, 'access_denied');
        return json(200, await this.mintRefresh());
      }
      return oauth(400, 'unsupported_grant_type');
    }
    if (req.method === 'POST' && url.pathname === '/login/revoke') {
      const token = (await form()).get('token') ?? '';
      if (token) await this.options.broker.broker.sessions.revoke({ token }).catch(() => 0);
      return json(200, {});
    }
    res.writeHead(404).end();
  }
}
