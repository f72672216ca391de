import type { Histogram } from 'prom-client';
import type { Metrics } from './metrics.js';

type FetchLike = typeof fetch;

/** Discovery documents live at a fixed path; every other issuer fetch is a JWKS. */
function fetchKind(input: Parameters<FetchLike>[0]): 'discovery' | 'jwks' {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  return url.includes('/.well-known/openid-configuration') ? 'discovery' : 'jwks';
}

/** A fetch for the identity module that counts outcomes and times discovery and JWKS requests. */
export function instrumentIssuerFetch(inner: FetchLike, metrics: Metrics): FetchLike {
  const timers = { discovery: metrics.issuerFetchDuration.labels('discovery'), jwks: metrics.issuerFetchDuration.labels('jwks') };
  return async (input, init) => {
    const kind = fetchKind(input);
    const stop = timers[kind].startTimer();
    try {
      const response = await inner(input, init);
      const outcome = response.ok ? 'ok' : response.status >= 500 ? 'http_5xx' : 'http_4xx';
      metrics.issuerFetches.inc({ kind, outcome });
      return response;
    } catch (err) {
      metrics.issuerFetches.inc({ kind, outcome: 'error' });
      throw err;
    } finally {
      stop();
    }
  };
}

/** Store methods that reach the backend and are worth timing. */
const TIMED = new Set(['putIfAbsent', 'put', 'get', 'take', 'delete', 'putWithIndexes', 'addToIndex', 'indexMembers', 'removeFromIndex', 'ping']);
const LIMITER_TIMED = new Set(['consume', 'reset']);

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[a-z_]{1,32}$/.test(code) ? code : 'unknown';
}

/**
 * Wraps an object so the named async methods are timed (duration histogram by
 * operation) and their failures counted by error code. Label children are bound
 * once per operation, so a call costs a clock read and an observation.
 */
function timed<T extends object>(target: T, names: ReadonlySet<string>, prefix: string, metrics: Metrics, extra?: (name: string, value: unknown) => unknown): T {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      let wrapper = wrappers.get(prop);
      if (wrapper !== undefined) return wrapper;
      if (!names.has(prop)) {
        // Bound once, so hot calls such as isReady() allocate nothing.
        wrapper = extra ? extra(prop, value.bind(obj)) : (value.bind(obj) as unknown);
        wrappers.set(prop, wrapper);
        return wrapper;
      }
      const operation = `${prefix}${prop}`;
      const histogram: ReturnType<Histogram['labels']> = metrics.storeDuration.labels(operation);
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      wrapper = async (...args: unknown[]) => {
        const stop = histogram.startTimer();
        try {
          return await fn.apply(obj, args);
        } catch (err) {
          metrics.storeErrors.inc({ operation, code: errorCode(err) });
          throw err;
        } finally {
          stop();
        }
      };
      wrappers.set(prop, wrapper);
      return wrapper;
    },
  });
}

/** The session store with every backend operation timed and every failure counted. */
export function instrumentStore<S extends object>(store: S, metrics: Metrics): S {
  return timed(store, TIMED, '', metrics, (name, fn) =>
    name === 'rateLimiter'
      ? (...args: unknown[]) => timed((fn as (...a: unknown[]) => object)(...args), LIMITER_TIMED, 'rateLimit.', metrics)
      : fn,
  );
}
