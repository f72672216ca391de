import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditRecord, TokenRequest, TokenService } from '../issuance/index.js';
import { PortcullisError } from '../lib/index.js';
import type { Logger } from '../observability/logger.js';
import { NO_ISSUER, refusalReason, type Metrics, type RefusalReason } from '../observability/index.js';
import { registryErrorBody } from '../registry/index.js';
import { INTERNAL, answerFor, refusalHeaders, type Answer } from './errors.js';
import { isValidHost } from './request-target.js';
import { parseGetRequest, parsePostRequest } from './token-request.js';

export interface TokenEndpointDeps {
  tokens: TokenService;
  logger: Logger;
  metrics?: Metrics;
  /** The client address from the socket peer and X-Forwarded-For (clientIpResolver). */
  clientIp: (socketAddress: string | undefined, forwardedFor: string | undefined) => string;
}

/**
 * /token on node:http, ahead of Koa.
 *
 * Every `docker pull` goes through /token, and Koa's per-request machinery (a context of three
 * objects and their delegates, the middleware chain, the router's walk over every route, the
 * finished-listener) cost more here than parsing the request. Requests whose target is exactly
 * `/token` in origin form are answered directly; anything else (an absolute-form target, HEAD
 * with an odd Host, another method) goes to the Koa app, whose /token routes call the same
 * `serve`, so there is one implementation of the endpoint and the Koa path stays the reference.
 *
 * What the Koa stack did for /token is done here: a malformed Host falls through to Koa's guard,
 * refusals are answered in the registry error format by the same table (errors.ts), and anything
 * unexpected is logged and answered with the fixed 500 body.
 */
export interface TokenEndpoint {
  /** Answers GET, HEAD or POST of `/token` in origin form and returns true; false for anything else. */
  tryServe(req: IncomingMessage, res: ServerResponse): boolean;
  /** Answers a /token request (GET, HEAD or POST); never rejects. */
  serve(req: IncomingMessage, res: ServerResponse, clientIp: string): Promise<void>;
}

const INTERNAL_TEXT = JSON.stringify(INTERNAL);
const JSON_TYPE = 'application/json; charset=utf-8';

/** The bounded refusal reason of a failed token request, for metrics and the audit line. */
function reasonOf(err: unknown): RefusalReason {
  return err instanceof PortcullisError ? refusalReason(err.code, err.detail?.reason) : 'internal';
}

function isTokenTarget(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith('/token')) return false;
  return (url.length === 6 || url.charCodeAt(6) === 0x3f /* ? */) && !url.includes('#');
}

export function createTokenEndpoint(deps: TokenEndpointDeps): TokenEndpoint {
  const { tokens, logger, metrics, clientIp } = deps;
  // An audit record never holds a credential (AuditRecord says why), so the redaction that
  // guards every other line is skipped for it: about 2 µs per token request.
  const auditLog = logger.child({}, { redact: { paths: [] } });

  const audit = (record: AuditRecord, status: number, started: bigint, err?: unknown): void => {
    // `refusal` is the bounded reason code: the same value as the metrics' reason label.
    const refusal = record.outcome === 'refused' ? reasonOf(err) : undefined;
    auditLog.info(refusal ? { audit: record, refusal } : { audit: record }, record.outcome === 'issued' ? 'token issued' : 'token refused');
    if (metrics) {
      metrics.recordTokenRequest({
        outcome: record.outcome,
        grant: record.grant ?? 'unknown',
        status,
        issuer: record.issuerId ?? NO_ISSUER,
        ...(refusal ? { reason: refusal } : {}),
        deniedScopes: record.denied?.length ?? 0,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    }
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: string, extra?: readonly string[]): void => {
    // One flat list for writeHead: no header map is built for a response this fixed.
    const headers = ['Content-Type', JSON_TYPE, 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-store', 'Pragma', 'no-cache'];
    if (extra !== undefined) headers.push(...extra);
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, err: PortcullisError, answer: Answer, decision?: string): void => {
    const extra = refusalHeaders(answer);
    if (decision !== undefined) extra.push('X-Portcullis-Decision', decision);
    send(req, res, answer.status, JSON.stringify(registryErrorBody(answer.wire, err.message, err.detail)), extra);
  };

  const parse = (req: IncomingMessage, clientAddress: string): Promise<TokenRequest> | TokenRequest =>
    req.method === 'POST' ? parsePostRequest(req, req.url ?? '', clientAddress) : parseGetRequest(req.url ?? '', req.headers.authorization || undefined, clientAddress);

  const handle = async (req: IncomingMessage, res: ServerResponse, clientAddress: string): Promise<void> => {
    const started = process.hrtime.bigint();
    let request: TokenRequest;
    try {
      // A GET parses synchronously: no await (and no extra turn of the microtask queue) for it.
      const parsed = parse(req, clientAddress);
      request = parsed instanceof Promise ? await parsed : parsed;
    } catch (err) {
      // Refused at the edge: audited without a decision id.
      const answer = answerFor(err);
      if (answer === undefined) throw err;
      audit({ decision: '-', outcome: 'refused', reason: (err as Error).message, clientIp: clientAddress }, answer.status, started, err);
      refuse(req, res, err as PortcullisError, answer);
      return;
    }
    const outcome = await tokens.issue(request);
    const decision = outcome.audit.decision;
    if (outcome.ok) {
      audit(outcome.audit, 200, started);
      send(req, res, 200, JSON.stringify(outcome.body), ['X-Portcullis-Decision', decision]);
      return;
    }
    const answer = answerFor(outcome.error);
    if (answer === undefined) throw outcome.error;
    audit(outcome.audit, answer.status, started, outcome.error);
    refuse(req, res, outcome.error as PortcullisError, answer, decision);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, clientAddress: string): Promise<void> => {
    try {
      await handle(req, res, clientAddress);
    } catch (err) {
      // The raw request target, bounded; the details are for the log only.
      logger.error({ err, target: String(req.url ?? '').slice(0, 200) }, 'unhandled error');
      if (res.headersSent) res.destroy();
      else send(req, res, 500, INTERNAL_TEXT);
    }
  };

  return {
    tryServe(req, res) {
      const method = req.method;
      if ((method !== 'GET' && method !== 'POST' && method !== 'HEAD') || !isTokenTarget(req.url) || !isValidHost(req.headers.host)) return false;
      const forwarded = req.headers['x-forwarded-for'];
      void serve(req, res, clientIp(req.socket.remoteAddress, typeof forwarded === 'string' && forwarded !== '' ? forwarded : undefined));
      return true;
    },
    serve,
  };
}
