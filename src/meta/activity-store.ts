export type ActivityAction = 'push' | 'pull' | 'delete';

/** One line of the hub's activity: a push, pull or delete, or pulls of one manifest by one actor coalesced. */
export interface ActivityRecord {
  /** ISO 8601; for coalesced pulls, the last one. */
  at: string;
  action: ActivityAction;
  repository: string;
  tag?: string;
  digest?: string;
  /** The account, `anonymous`, or `autobuild`. */
  actor: string;
  /** Events this row stands for (1 but for coalesced pulls). */
  count: number;
}

/** A stored row: `id` grows with each append, so newest first is highest id first. */
export interface ActivityRow extends ActivityRecord {
  id: number;
}

export interface ActivityQuery {
  /** Only this repository's rows; every repository's when absent. */
  repository?: string;
  /** Rows older than this id (the previous page's last); from the newest when absent. */
  before?: number;
  limit: number;
}

/** The activity rows of the hub (docs/api.md, "Activity and administration"). */
export interface ActivityStore {
  /** Appends the rows in one transaction, in order. */
  append(rows: readonly ActivityRecord[]): Promise<void>;
  /** Newest first. */
  list(query: ActivityQuery): Promise<ActivityRow[]>;
  /** Deletes all but the newest `keep` rows; answers how many went. */
  prune(keep: number): Promise<number>;
}
