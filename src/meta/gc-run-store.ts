export type GcTrigger = 'schedule' | 'cli' | 'api';
export type GcRunState = 'running' | 'succeeded' | 'failed';

/** One garbage collection as the hub lists it. */
export interface GcRunRecord {
  id: number;
  trigger: GcTrigger;
  dryRun: boolean;
  startedAt: string;
  finishedAt?: string;
  state: GcRunState;
  blobsRemoved: number;
  bytesFreed: number;
  manifestsRemoved: number;
  error?: string;
}

/** How a run ended: its counts, or why it failed. */
export type GcRunOutcome =
  | { finishedAt: string; blobsRemoved: number; bytesFreed: number; manifestsRemoved: number }
  | { finishedAt: string; error: string };

/** The record of garbage collections (scheduled, `wharf gc`, the API); the newest `gcRunsKept` are kept. */
export interface GcRunStore {
  /** Records a run that starts now (state running) and drops the oldest beyond `gcRunsKept`. */
  start(run: { trigger: GcTrigger; dryRun: boolean; startedAt: string }): Promise<GcRunRecord>;
  /** Ends a running run; a no-op for one pruned meanwhile. */
  finish(id: number, outcome: GcRunOutcome): Promise<void>;
  /**
   * Fails the runs still `running` whose process stopped mid-run (what `interrupted` says: when, why); dry runs too
   * only when `dryRuns` (a dry run takes no lock, so another replica's may be alive). Answers how many.
   */
  failRunning(interrupted: { finishedAt: string; error: string; dryRuns: boolean }): Promise<number>;
  /** Newest first, at most `limit` (default every kept run). */
  list(limit?: number): Promise<GcRunRecord[]>;
}

export const gcRunsKept = 100;
