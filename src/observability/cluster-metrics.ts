import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * Metrics summed over the processes of `serve --workers`. Any worker may answer
 * GET /metrics (they share the port), so it asks the primary, which collects
 * every worker's registry through prom-client's cluster aggregation and sends
 * the sum back. Counters and histograms add up; gauges use their own aggregator.
 */
const REQUEST = 'portcullis:metrics-request';
const RESPONSE = 'portcullis:metrics-response';
const TIMEOUT_MS = 5_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}
interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  body?: string;
  error?: string;
}

export function isClusterWorker(): boolean {
  return cluster.isWorker && typeof process.send === 'function';
}

/** In the primary, before forking: answers the workers' requests with the aggregate. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: RESPONSE, id: message.id, body } satisfies MetricsResponse),
      (err: unknown) => worker.send({ type: RESPONSE, id: message.id, error: err instanceof Error ? err.message : String(err) } satisfies MetricsResponse),
    );
  });
}

let nextId = 0;
const pending = new Map<number, (response: MetricsResponse) => void>();
let workerSetUp = false;

/** In a worker, at start-up: every worker must answer the primary's collection requests. */
export function joinClusterMetrics(registry: Registry): void {
  if (workerSetUp) return;
  workerSetUp = true;
  // The primary's aggregator asks each worker for these registries.
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's worker-side listener.
  new AggregatorRegistry();
  process.on('message', (message: unknown) => {
    if (!isMessage<MetricsResponse>(message, RESPONSE)) return;
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
}

/** In a worker: the sum over all workers, or undefined when the primary does not answer in time. */
export async function clusterMetricsText(registry: Registry): Promise<string | undefined> {
  joinClusterMetrics(registry);
  const id = nextId++;
  const response = await new Promise<MetricsResponse | undefined>((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve(undefined);
    }, TIMEOUT_MS);
    timer.unref();
    pending.set(id, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
  });
  return response?.body;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}
