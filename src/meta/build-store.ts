/** A git repository built into a registry repository on every push to one branch (docs/api.md, "Automated builds"). */
export interface AutobuildRecord {
  /** 16 hex. */
  id: string;
  repository: string;
  /** The clone URL; the only one ever fetched (a webhook's payload never names another). */
  git: string;
  /** The branch whose pushes build. */
  ref: string;
  dockerfile: string;
  context: string;
  tag: string;
  /** The webhook's HMAC key (GitHub, Gitea) or token (GitLab). */
  secret: string;
  createdAt: string;
}

export type BuildTrigger = 'webhook' | 'api' | 'cli';
export type BuildState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface BuildRecord {
  /** 16 hex. */
  id: string;
  autobuildId: string;
  repository: string;
  ref: string;
  /** The commit to build (a webhook's), else the one fetched once the build ran. */
  commit?: string;
  trigger: BuildTrigger;
  state: BuildState;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Last sign of life of the process running it; a stale one means that process died. */
  heartbeatAt?: string;
  tags: string[];
  digest?: string;
  error?: string;
}

export interface QueueBuildInput {
  id: string;
  autobuildId: string;
  ref: string;
  commit?: string;
  trigger: BuildTrigger;
  queuedAt: string;
}

export interface FinishBuildInput {
  state: 'succeeded' | 'failed';
  finishedAt: string;
  commit?: string;
  tags?: string[];
  digest?: string;
  error?: string;
}

/**
 * Autobuilds and their builds. A build moves queued -> running (claimNext) -> succeeded | failed (finishBuild,
 * or failStale when its process stopped beating); every transition is one statement or transaction that
 * checks the state it leaves, so two processes (replicas) never run or finish the same build twice.
 */
export interface BuildStore {
  /** already-exists when the id is taken. */
  addAutobuild(record: AutobuildRecord): Promise<void>;
  getAutobuild(id: string): Promise<AutobuildRecord | undefined>;
  /** Oldest first; only `repository`'s when given. */
  listAutobuilds(repository?: string): Promise<AutobuildRecord[]>;
  /** Removes it and its builds; answers the removed builds' ids (for their logs), undefined when unknown. */
  deleteAutobuild(id: string): Promise<string[] | undefined>;
  /**
   * Queues a build of the autobuild's repository unless that repository already has `limit` queued builds
   * (then undefined, nothing recorded). not-found for an unknown autobuild.
   */
  queueBuild(input: QueueBuildInput, limit: number): Promise<BuildRecord | undefined>;
  /**
   * The oldest queued build whose repository has fewer than `perRepository` running, now running (started and
   * beating at `now`); undefined when none may start. Never the same build to two callers.
   */
  claimNext(perRepository: number, now: string): Promise<BuildRecord | undefined>;
  /** Records the commit fetched for a running build. */
  setCommit(id: string, commit: string): Promise<void>;
  /** A running build's sign of life; false when it is no longer running (failed as stale, its autobuild removed). */
  heartbeat(id: string, at: string): Promise<boolean>;
  /** Ends a running build; false when it was not running (nothing changed). */
  finishBuild(id: string, result: FinishBuildInput): Promise<boolean>;
  /** Fails every running build whose heartbeat is older than `cutoff`, with `error`; answers them as they were. */
  failStale(cutoff: string, at: string, error: string): Promise<BuildRecord[]>;
  getBuild(id: string): Promise<BuildRecord | undefined>;
  /** Newest first, after the build `last` (an id) when given; only `repository`'s when given. */
  listBuilds(options: { repository?: string; last?: string; n: number }): Promise<BuildRecord[]>;
  /** Deletes the autobuild's finished builds beyond the newest `keep`; answers their ids (for their logs). */
  pruneBuilds(autobuildId: string, keep: number): Promise<string[]>;
}
