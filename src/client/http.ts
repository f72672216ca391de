import { ClientError } from './errors.js';

const TIMEOUT_MS = 15_000;
const MAX_BODY = 256 * 1024;

export interface JsonAnswer {
  status: number;
  body: unknown;
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new ClientError('unreachable', `cannot reach ${new URL(url).origin}: ${why}`);
  }
}

async function jsonOf(res: Response, url: string): Promise<unknown> {
  const text = await res.text();
  if (text.length > MAX_BODY) throw new ClientError('bad_answer', `${new URL(url).origin} answered with an oversized body`);
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ClientError('bad_answer', `${url} answered ${res.status} with a body that is not JSON`);
  }
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const res = await send(url, { headers: { accept: 'application/json', ...headers } });
  return { status: res.status, body: await jsonOf(res, url) };
}

/** POST an application/x-www-form-urlencoded body. */
export async function postForm(url: string, form: Record<string, string>): Promise<JsonAnswer> {
  const res = await send(url, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await jsonOf(res, url) };
}

/** The OAuth error code and description of an error answer (RFC 6749 §5.2), or of a registry-format error. */
export function oauthError(body: unknown): { error: string; description: string } {
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    if (typeof b.error === 'string') {
      return { error: b.error, description: typeof b.error_description === 'string' ? b.error_description : '' };
    }
    const first = Array.isArray(b.errors) ? (b.errors[0] as Record<string, unknown> | undefined) : undefined;
    if (first && typeof first.code === 'string') {
      return { error: first.code, description: typeof first.message === 'string' ? first.message : '' };
    }
  }
  return { error: 'unknown_error', description: '' };
}
