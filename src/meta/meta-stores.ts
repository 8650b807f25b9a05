import type { ActivityStore } from './activity-store.ts';
import type { BuildStore } from './build-store.ts';
import type { GcIndex } from './gc-index.ts';
import type { GcRunStore } from './gc-run-store.ts';
import type { MetaTransaction } from './meta-transaction.ts';
import type { MetadataStore } from './metadata-store.ts';
import type { MirrorStore } from './mirror-store.ts';
import type { RetentionIndex } from './retention-index.ts';
import type { SecretStore } from './secret-store.ts';
import type { SessionStore } from './session-store.ts';
import type { UserStore } from './user-store.ts';
import type { V1Store } from './v1-store.ts';

/** Every metadata store over one backend (one SQLite file or one PostgreSQL database), as src/main/open-meta.ts opens them. */
export interface MetaStores {
  meta: MetadataStore;
  users: UserStore;
  v1: V1Store;
  gc: GcIndex;
  retention: RetentionIndex;
  /** The pull-through cache's tag checks and manifest uses (registry.proxy). */
  mirror: MirrorStore;
  /** Secrets every process on the backend shares (the v1 index tokens' key). */
  secrets: SecretStore;
  /** The hub's browser sessions. */
  sessions: SessionStore;
  /** The hub's activity (pushes, pulls, deletes). */
  activity: ActivityStore;
  /** The record of garbage collections. */
  gcRuns: GcRunStore;
  /** Automated builds: autobuilds and their build queue. */
  builds: BuildStore;
  /** One transaction across the stores above. */
  transaction: MetaTransaction;
  /** `sqlite <path>` or `postgres <url without its password>`, for logs. */
  description: string;
  /** Releases the database (file handle or pool); the stores are unusable after. */
  close(): Promise<void>;
}
