import { randomBytes } from 'node:crypto';
import { Fault } from '../../base/fault.ts';
import type { AutobuildRecord, BuildRecord, BuildStore, BuildTrigger } from '../../meta/build-store.ts';
import { validateRepositoryName, validateTag } from '../../oci/reference.ts';
import type { AutobuildRow, BuildRow } from '../../web/api-types.ts';
import { BuildLogs } from './build-logs.ts';
import { redactGitUrl, validateBranch, validateCommit, validateGitUrl, validateRepoPath } from './git-source.ts';

export interface AutobuildInput {
  repository: string;
  git: string;
  ref?: string;
  dockerfile?: string;
  context?: string;
  tag?: string;
}

export interface BuildsOptions {
  store: BuildStore;
  root: string;
  /** hub.builds.queuePerRepository */
  queuePerRepository: number;
  /** Called after a build was queued (the runner of this process looks at once). */
  onQueued?: () => void;
  now?: () => Date;
}

/** Seconds a client refused for a full queue is asked to wait. */
const retryAfterSeconds = 60;

/** Automated builds as the API and the CLI see them: registering autobuilds, queueing builds, reading logs. */
export class Builds {
  readonly store: BuildStore;
  readonly logs: BuildLogs;
  readonly #queueLimit: number;
  readonly #onQueued: () => void;
  readonly #now: () => Date;

  constructor(options: BuildsOptions) {
    this.store = options.store;
    this.logs = new BuildLogs(options.root);
    this.#queueLimit = options.queuePerRepository;
    this.#onQueued = options.onQueued ?? (() => {});
    this.#now = options.now ?? (() => new Date());
  }

  /** Registers an autobuild with a fresh id and webhook secret, every field validated first. */
  async addAutobuild(input: AutobuildInput): Promise<AutobuildRecord> {
    const record: AutobuildRecord = {
      id: randomBytes(8).toString('hex'),
      repository: validateRepositoryName(input.repository),
      git: validateGitUrl(input.git),
      ref: validateBranch(input.ref ?? 'main'),
      dockerfile: validateRepoPath(input.dockerfile ?? 'Dockerfile', 'dockerfile'),
      context: validateRepoPath(input.context ?? '.', 'context'),
      tag: validateTag(input.tag ?? 'latest'),
      secret: randomBytes(24).toString('hex'),
      createdAt: this.#now().toISOString(),
    };
    await this.store.addAutobuild(record);
    return record;
  }

  async autobuild(id: string): Promise<AutobuildRecord> {
    const found = /^[0-9a-f]{16}$/.test(id) ? await this.store.getAutobuild(id) : undefined;
    if (!found) throw new Fault('not-found', `autobuild ${id.slice(0, 64)} unknown`, { code: 'NOT_FOUND' });
    return found;
  }

  async removeAutobuild(id: string): Promise<void> {
    const builds = await this.store.deleteAutobuild((await this.autobuild(id)).id);
    await this.logs.remove(builds ?? []);
  }

  /** Queues a build of the autobuild's branch (at `commit` when a push named one); 429 when its queue is full. */
  async queue(autobuild: AutobuildRecord, trigger: BuildTrigger, commit?: string): Promise<BuildRecord> {
    const build = await this.store.queueBuild({
      id: randomBytes(8).toString('hex'),
      autobuildId: autobuild.id,
      ref: autobuild.ref,
      commit: commit === undefined ? undefined : validateCommit(commit),
      trigger,
      queuedAt: this.#now().toISOString(),
    }, this.#queueLimit);
    if (!build) {
      throw new Fault('failed-precondition', `${autobuild.repository} already has ${this.#queueLimit} builds queued (hub.builds.queuePerRepository)`, {
        code: 'TOOMANYREQUESTS',
        detail: { retryAfter: retryAfterSeconds },
      });
    }
    this.#onQueued();
    return build;
  }

  /**
   * Whether a build of `commit` is queued or running for the autobuild (a webhook delivery replayed). Those are
   * among its repository's newest builds: at most the queue bound plus the running limit of them.
   */
  async pending(autobuild: AutobuildRecord, commit: string): Promise<boolean> {
    const recent = await this.store.listBuilds({ repository: autobuild.repository, n: 100 });
    return recent.some((b) => b.autobuildId === autobuild.id && b.commit === commit && (b.state === 'queued' || b.state === 'running'));
  }

  async build(id: string): Promise<BuildRecord> {
    const found = /^[0-9a-f]{16}$/.test(id) ? await this.store.getBuild(id) : undefined;
    if (!found) throw new Fault('not-found', `build ${id.slice(0, 64)} unknown`, { code: 'NOT_FOUND' });
    return found;
  }
}

/** `<base>/api/v1/hooks/<id>`: where a git server posts its push events. */
export function webhookUrl(base: string, id: string): string {
  return `${base.replace(/\/+$/, '')}/api/v1/hooks/${id}`;
}

/** An autobuild as the API shows it; `full` (push or admin) includes the git URL's user part. */
export function autobuildRow(record: AutobuildRecord, base: string, full: boolean): AutobuildRow {
  const { id, repository, ref, dockerfile, context, tag, createdAt } = record;
  const git = full ? record.git : redactGitUrl(record.git);
  return { id, repository, git, ref, dockerfile, context, tag, createdAt, webhookUrl: webhookUrl(base, id) };
}

export function buildRow(build: BuildRecord): BuildRow {
  return {
    id: build.id,
    autobuildId: build.autobuildId,
    repository: build.repository,
    commit: build.commit ?? null,
    ref: build.ref,
    trigger: build.trigger,
    state: build.state,
    queuedAt: build.queuedAt,
    startedAt: build.startedAt ?? null,
    finishedAt: build.finishedAt ?? null,
    tags: build.tags,
    digest: build.digest ?? null,
    error: build.error ?? null,
  };
}
