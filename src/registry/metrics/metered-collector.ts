import { GarbageCollector, type CollectOptions, type CollectResult, type GarbageCollectorDeps } from '../gc/garbage-collector.ts';
import type { GcMetrics } from './registry-metrics.ts';

/** A collector that reports every finished run (not dry runs, not failures) to `GcMetrics`. */
export class MeteredCollector extends GarbageCollector {
  readonly #metrics: GcMetrics;

  constructor(deps: GarbageCollectorDeps, metrics: GcMetrics) {
    super(deps);
    this.#metrics = metrics;
  }

  async collect(options: CollectOptions): Promise<CollectResult> {
    const started = performance.now();
    const result = await super.collect(options);
    if (!options.dryRun) this.#metrics.recordGcRun({ freedBlobs: result.blobs, freedBytes: result.bytes, durationSeconds: (performance.now() - started) / 1000 });
    return result;
  }
}
