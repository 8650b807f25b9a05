import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What one garbage collection freed, as the collector (or its scheduler) reports it. */
export interface GcRun {
  freedBlobs: number;
  freedBytes: number;
  durationSeconds: number;
}

/**
 * The hook a garbage collector calls once per finished run (dry runs are not runs). `RegistryMetrics` is one;
 * the collector takes it as an optional dependency so `wharf gc` can run without metrics.
 */
export interface GcMetrics {
  recordGcRun(run: GcRun): void;
}

export interface StorageStats {
  blobs: number;
  bytes: number;
}

export type AuthFailureReason = 'unauthenticated' | 'denied' | 'rate_limited';

export interface RegistryMetricsOptions {
  /** Read on every scrape, twice (once per gauge) at the same time: see storageStats for a cached, shared walk. */
  storage: () => Promise<StorageStats>;
}

// Requests range from a HEAD (ms) to a multi-GB blob stream (minutes).
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * The registry part's Prometheus metrics, each in this instance's own prom-client Registry (nothing global, so
 * several registries can run in one process, as tests do). The HTTP edge feeds it (instrument-registry.ts).
 */
export class RegistryMetrics implements GcMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'code'>;
  readonly #duration: Histogram<'route' | 'method'>;
  readonly #bytesIn: Counter<'route'>;
  readonly #bytesOut: Counter<'route'>;
  readonly #uploads: Gauge;
  readonly #authFailures: Counter<'route' | 'reason'>;
  readonly #tokens: Counter;
  readonly #gc: { runs: Counter; blobs: Counter; bytes: Counter; duration: Gauge; last: Gauge };

  constructor(options: RegistryMetricsOptions) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Counter<L>({ name, help, labelNames, registers });
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    this.#requests = counter('wharf_registry_http_requests_total', 'Registry HTTP requests answered, by route, method and status code.', ['route', 'method', 'code']);
    this.#duration = new Histogram({
      name: 'wharf_registry_http_request_duration_seconds',
      help: 'Time from request to the end of the answer, by route and method.',
      labelNames: ['route', 'method'],
      buckets: durationBuckets,
      registers,
    });
    this.#bytesIn = counter('wharf_registry_blob_bytes_received_total', 'Blob body bytes read from clients (uploads), by route.', ['route']);
    this.#bytesOut = counter('wharf_registry_blob_bytes_sent_total', 'Blob body bytes streamed to clients (downloads), by route.', ['route']);
    this.#uploads = gauge('wharf_registry_uploads_in_flight', 'Blob upload requests (POST, PATCH, PUT with a body) streaming into the store now.');
    this.#authFailures = counter('wharf_registry_auth_failures_total', 'Requests refused by auth: credentials refused (401 with credentials), denied (403), rate limited (429).', ['route', 'reason']);
    this.#tokens = counter('wharf_auth_tokens_issued_total', 'Bearer tokens issued by the token endpoint.');
    this.#gc = {
      runs: counter('wharf_registry_gc_runs_total', 'Garbage collections finished.'),
      blobs: counter('wharf_registry_gc_freed_blobs_total', 'Blobs removed by garbage collection.'),
      bytes: counter('wharf_registry_gc_freed_bytes_total', 'Bytes freed by garbage collection.'),
      duration: gauge('wharf_registry_gc_last_duration_seconds', 'Duration of the last garbage collection.'),
      last: gauge('wharf_registry_gc_last_run_timestamp_seconds', 'When the last garbage collection finished (Unix time).'),
    };
    this.#storageGauges(options.storage);
  }

  observeRequest(request: { route: string; method: string; code: number; seconds: number }): void {
    this.#requests.inc({ route: request.route, method: request.method, code: String(request.code) });
    this.#duration.observe({ route: request.route, method: request.method }, request.seconds);
  }

  countBlobBytes(direction: 'in' | 'out', route: string, bytes: number): void {
    (direction === 'in' ? this.#bytesIn : this.#bytesOut).inc({ route }, bytes);
  }

  /** Counts an upload as in flight until the returned function is called (once). */
  uploadStarted(): () => void {
    this.#uploads.inc();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#uploads.dec();
    };
  }

  authFailure(route: string, reason: AuthFailureReason): void {
    this.#authFailures.inc({ route, reason });
  }

  tokenIssued(): void {
    this.#tokens.inc();
  }

  recordGcRun(run: GcRun): void {
    this.#gc.runs.inc();
    this.#gc.blobs.inc(run.freedBlobs);
    this.#gc.bytes.inc(run.freedBytes);
    this.#gc.duration.set(run.durationSeconds);
    this.#gc.last.set(Date.now() / 1000);
  }

  #storageGauges(storage: () => Promise<StorageStats>): void {
    const registers = [this.registry];
    // prom-client collects both within one scrape, concurrently: `storage` shares one walk between them.
    const gauge = (name: string, help: string, read: (stats: StorageStats) => number) =>
      new Gauge({ name, help, registers, collect: async function () { this.set(read(await storage())); } });
    gauge('wharf_registry_storage_bytes', 'Bytes of committed blobs in the blob store.', (stats) => stats.bytes);
    gauge('wharf_registry_storage_blobs', 'Committed blobs in the blob store.', (stats) => stats.blobs);
  }
}
