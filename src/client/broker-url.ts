import { ClientError } from './errors.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * The broker's base URL without a trailing slash. Refresh tokens travel to it, so plain http is
 * accepted only for a broker on this machine.
 */
export function normaliseBrokerUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `https://${input}`);
  } catch {
    throw new ClientError('invalid_input', `"${input}" is not a broker URL (expected e.g. https://portcullis.example.com)`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
    throw new ClientError('invalid_input', `${url.origin}: use https (plain http is accepted only for a broker on 127.0.0.1)`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ClientError('invalid_input', `"${input}": a broker URL has no credentials, query or fragment`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** An endpoint announced by the broker must be https too (or loopback http). */
export function checkEndpoint(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ClientError('bad_answer', `the broker announced an invalid ${name}: ${JSON.stringify(value.slice(0, 200))}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
    throw new ClientError('bad_answer', `the broker announced ${name} ${url.origin} over plain http; refusing to send credentials there`);
  }
  return url.href;
}

/**
 * The registry host[:port] a credential helper is asked about. Docker passes a host or a URL
 * (`https://index.docker.io/v1/`); containers/image passes a host. Lower-cased; path dropped.
 */
export function registryHost(serverUrl: string): string {
  const trimmed = serverUrl.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  try {
    return new URL(withScheme).host.toLowerCase();
  } catch {
    return trimmed.toLowerCase();
  }
}
