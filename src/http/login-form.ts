import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { z } from 'zod';
import { LoginError } from '../login/index.js';

const MAX_FORM_BYTES = 16 * 1024;
const MAX_VALUE = 4096;

// Edge validation of the login forms: names and sizes; the meaning is checked by LoginService.
const fieldName = z.string().regex(/^[a-z_]{1,40}$/, 'unexpected form field');
const fieldValue = z.string().max(MAX_VALUE, `form values are limited to ${MAX_VALUE} characters`);

/** An application/x-www-form-urlencoded body of at most 16 KiB, each field given at most once. */
export async function readLoginForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new LoginError('unsupported_media_type', `${ctx.method} ${ctx.path} takes an application/x-www-form-urlencoded body`);
  }
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: MAX_FORM_BYTES, encoding: 'utf8' });
  } catch {
    throw new LoginError('payload_too_large', `form body must be at most ${MAX_FORM_BYTES} bytes`);
  }
  const form = new URLSearchParams(text);
  const seen = new Set<string>();
  for (const [k, v] of form) {
    const name = fieldName.safeParse(k);
    if (!name.success) throw new LoginError('invalid_request', `unexpected form field ${JSON.stringify(k.slice(0, 40))}`);
    const value = fieldValue.safeParse(v);
    if (!value.success) throw new LoginError('invalid_request', `"${k}": ${value.error.issues[0]?.message ?? 'invalid'}`);
    if (seen.has(k)) throw new LoginError('invalid_request', `"${k}" is given more than once`);
    seen.add(k);
  }
  return form;
}

/** One cookie's value from the request, or undefined. */
export function readCookie(ctx: Context, name: string): string | undefined {
  for (const part of (ctx.get('cookie') || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  readonly secure: boolean;
  readonly maxAgeSec: number;
}

/** Set-Cookie written by hand: Koa's cookies refuse Secure on a TLS-terminating proxy's plain hop. */
export function setCookie(ctx: Context, name: string, value: string, options: CookieOptions): void {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${options.maxAgeSec}`];
  if (options.secure) parts.push('Secure');
  ctx.append('Set-Cookie', parts.join('; '));
}
