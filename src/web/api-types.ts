/**
 * The JSON shapes of the hub's API under /api/v1 (docs/api.md), shared by the server (src/hub, type imports only)
 * and the browser app (src/web/ui). Types only: nothing here runs.
 */

/** Every error answer: the registry's envelope, so one client parser serves both APIs. */
export interface ApiErrorBody {
  errors: { code: string; message: string; detail?: unknown }[];
}

export interface SessionUser {
  name: string;
  admin: boolean;
}

/** GET/POST /api/v1/session. `csrfToken` goes back in the `x-csrf-token` header of every write a session makes. */
export interface SessionInfo {
  user: SessionUser | null;
  csrfToken: string | null;
  authMode: 'none' | 'htpasswd' | 'token';
  /** Whether anonymous callers may browse (auth.anonymousPull, or auth mode none). */
  anonymousBrowse: boolean;
}

/** A paged list: `next` is the `last` to send for the following page, null on the last one. */
export interface Paged {
  next: string | null;
}

export interface RepositorySummary {
  name: string;
}

/** GET /api/v1/repositories?q=&last=&n= */
export interface RepositoryList extends Paged {
  repositories: RepositorySummary[];
}

export interface TagRow {
  name: string;
  digest: string;
  mediaType: string;
  /** Bytes: the manifest, its config and layers; for an index, the sum over its children (each counted once). */
  size: number;
  /** The config's `created` (ISO 8601), else when the manifest was pushed. */
  created: string;
  /** `os/architecture[/variant]`; one entry for an image, one per child for an index; empty for an artifact. */
  platforms: string[];
  /**
   * Set when `size` and `created` leave children out: an index's first 64 distinct children are read, the rest
   * (or those past the request's read budget) count their index entry's size only. Platforms are always whole.
   */
  partial?: true;
}

/** GET /api/v1/tags?repository=&last=&n= */
export interface TagList extends Paged {
  repository: string;
  /** What the caller may do here (the UI shows "Delete" only with 'delete'). */
  actions: string[];
  tags: TagRow[];
}

export interface LayerRow {
  digest: string;
  mediaType: string;
  size: number;
}

export interface HistoryRow {
  created?: string;
  createdBy?: string;
  comment?: string;
  emptyLayer: boolean;
}

export interface ImageConfigView {
  digest: string;
  created?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  user?: string;
  workingDir?: string;
  env: string[];
  cmd: string[] | null;
  entrypoint: string[] | null;
  labels: Record<string, string>;
  exposedPorts: string[];
  history: HistoryRow[];
}

export interface ChildRow {
  digest: string;
  mediaType: string;
  size: number;
  platform: string | null;
}

export interface ReferrerRow {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  annotations: Record<string, string>;
}

/** GET /api/v1/manifest?repository=&reference= */
export interface ManifestView {
  repository: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  /** The first 100 tags on this digest (sorted); `tagsTotal` says how many there are when there are more. */
  tags: string[];
  tagsTotal?: number;
  layers: LayerRow[];
  config: ImageConfigView | null;
  children: ChildRow[];
  /** The first 100 referrers; `referrersTotal` says how many there are when there are more. */
  referrers: ReferrerRow[];
  referrersTotal?: number;
  /** As TagRow's: set when `size` leaves children out. */
  partial?: true;
  actions: string[];
}

export interface ActivityEvent {
  id: string;
  /** ISO 8601: when (for coalesced pulls, the last one). */
  at: string;
  action: 'push' | 'pull' | 'delete';
  repository: string;
  tag: string | null;
  digest: string | null;
  /** The account, `anonymous`, or `autobuild`; '' (hidden) unless the caller is an admin or may push to `repository`. */
  actor: string;
  /** Pulls of the same manifest by the same actor within a second are one row with a count. */
  count: number;
}

/** GET /api/v1/activity?repository=&last=&n= (newest first) */
export interface ActivityList extends Paged {
  events: ActivityEvent[];
}

export interface UserRow {
  name: string;
  admin: boolean;
  disabled: boolean;
  email: string;
  createdAt: string;
}

export interface TokenRow {
  id: string;
  user: string;
  scopes: string[];
  description: string;
  createdAt: string;
  revokedAt: string | null;
}

/** POST /api/v1/tokens answers the row and, this once, the password to use. */
export interface CreatedToken extends TokenRow {
  secret: string;
}

export interface AclView {
  authMode: 'none' | 'htpasswd' | 'token';
  anonymousPull: boolean;
  /** config's auth.acl as written (read-only). */
  rules: unknown[];
}

export interface QuotaRow {
  namespace: string;
  limit: number;
  used: number;
}

export interface GcRunRow {
  id: string;
  trigger: 'schedule' | 'cli' | 'api';
  dryRun: boolean;
  startedAt: string;
  finishedAt: string | null;
  state: 'running' | 'succeeded' | 'failed';
  blobsRemoved: number;
  bytesFreed: number;
  manifestsRemoved: number;
  error: string | null;
}

export type BuildState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface AutobuildRow {
  id: string;
  repository: string;
  git: string;
  ref: string;
  dockerfile: string;
  context: string;
  tag: string;
  webhookUrl: string;
  createdAt: string;
}

export interface BuildRow {
  id: string;
  autobuildId: string;
  repository: string;
  /** The commit built (full sha), once known. */
  commit: string | null;
  ref: string;
  trigger: 'webhook' | 'api' | 'cli';
  state: BuildState;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** `REPO:TAG` and `REPO:<short sha>` once pushed. */
  tags: string[];
  digest: string | null;
  error: string | null;
}
