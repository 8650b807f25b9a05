import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../base/log.ts';
import type { AutobuildRecord, BuildRecord, FinishBuildInput } from '../../meta/build-store.ts';
import type { RequestEvents } from '../../registry/notifications/request-events.ts';
import type { Builds } from './builds.ts';
import type { BuildLog } from './build-logs.ts';
import { buildOnEngine, pingEngine, removeEngineTag } from './engine-build.ts';
import { archiveContext, fetchCommit } from './git-source.ts';
import { publishImage, type PublishDeps } from './publish-image.ts';

export interface BuildRunnerOptions {
  builds: Builds;
  publish: PublishDeps;
  /** The engine's socket (engine.socket). */
  socket: string;
  /** hub.builds: concurrency, perRepository, timeoutSeconds. */
  concurrency: number;
  perRepository: number;
  timeoutSeconds: number;
  logger: Logger;
  /** Where pushes are reported (the activity log, as actor `autobuild`). */
  events?: RequestEvents;
  heartbeatMs?: number;
  staleMs?: number;
  pollMs?: number;
  sweepMs?: number;
  /** How long builds wait for an engine that does not answer before they are claimed (and fail). */
  engineWaitMs?: number;
  /** Finished builds kept per autobuild (older ones and their logs go). */
  keepBuilds?: number;
  /** hub.builds.logMaxBytes: a log beyond this many bytes stops the build (32 MiB). */
  logMaxBytes?: number;
  now?: () => Date;
}

export const interrupted = 'interrupted: wharf stopped during the build';
const mib = 1024 * 1024;
/** The engine-side name of a build's image: a throwaway, so no engine image is shadowed; removed once published. */
const engineTag = (buildId: string) => `wharf-autobuild/${buildId}`;

/**
 * Runs queued builds in this process: up to `concurrency` at once, `perRepository` per repository (the store's
 * claim decides, so replicas share the limit). A running build beats every 10 s; a build whose process stopped
 * beating for 60 s is failed by the sweep (at start, then every minute) with `interrupted` in its log. Queued
 * builds wait in the store, so they survive a restart. Closing aborts the running builds and fails them.
 */
export class BuildRunner {
  readonly #o: Required<Omit<BuildRunnerOptions, 'events'>> & Pick<BuildRunnerOptions, 'events'>;
  readonly #running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  readonly #timers: NodeJS.Timeout[] = [];
  #claiming: Promise<void> | undefined;
  #closed = false;
  #engineDownSince: number | undefined;

  constructor(options: BuildRunnerOptions) {
    this.#o = { heartbeatMs: 10_000, staleMs: 60_000, pollMs: 2_000, sweepMs: 60_000, engineWaitMs: 15_000, keepBuilds: 100, logMaxBytes: 32 * mib, now: () => new Date(), ...options };
  }

  /** Where builds check their sources out, `<root>/hub/builds/tmp/<buildId>`. */
  get #sources(): string {
    return join(this.#o.publish.root, 'hub', 'builds', 'tmp');
  }

  /** Sweeps what a stopped process left, then runs builds as they come. */
  async start(): Promise<void> {
    await this.sweep();
    this.#timers.push(setInterval(() => this.wake(), this.#o.pollMs).unref());
    this.#timers.push(setInterval(() => void this.sweep(), this.#o.sweepMs).unref());
    this.wake();
  }

  /**
   * Whether to claim now: the engine answers, or has not for `engineWaitMs`. `wharf serve` starts the engine beside
   * the registry and stops it first, so a build is not claimed (and failed) in those windows; an engine that
   * stays away fails the builds, with that reason in their logs.
   */
  async #engineReady(): Promise<boolean> {
    if (await pingEngine(this.#o.socket)) {
      this.#engineDownSince = undefined;
      return true;
    }
    this.#engineDownSince ??= Date.now();
    return Date.now() - this.#engineDownSince >= this.#o.engineWaitMs;
  }

  /** Fails running builds whose heartbeat stopped (their process died), noting it in their logs. */
  async sweep(): Promise<void> {
    try {
      const now = this.#o.now();
      const stale = await this.#o.builds.store.failStale(new Date(now.getTime() - this.#o.staleMs).toISOString(), now.toISOString(), interrupted);
      for (const build of stale) await this.#o.builds.logs.note(build.id, `ERROR: ${interrupted}`);
      await this.#removeLeftSources();
    } catch (err) {
      this.#o.logger.error({ err }, 'autobuild: sweeping stale builds failed');
    }
  }

  /** Removes checkouts no running build owns (a process that stopped during a build left them). */
  async #removeLeftSources(): Promise<void> {
    for (const name of await readdir(this.#sources).catch(() => [])) {
      if (this.#running.has(name)) continue;
      // Another replica on this root may still be building it.
      const build = /^[0-9a-f]{16}$/.test(name) ? await this.#o.builds.store.getBuild(name) : undefined;
      if (build?.state !== 'running') await rm(join(this.#sources, name), { recursive: true, force: true });
    }
  }

  /** Claims and starts builds while this process has room. */
  wake(): void {
    if (this.#claiming || this.#closed) return;
    this.#claiming = this.#claimAll().finally(() => {
      this.#claiming = undefined;
    });
  }

  async #claimAll(): Promise<void> {
    try {
      if (this.#running.size >= this.#o.concurrency || !(await this.#engineReady())) return;
      while (!this.#closed && this.#running.size < this.#o.concurrency) {
        const build = await this.#o.builds.store.claimNext(this.#o.perRepository, this.#o.now().toISOString());
        if (!build) return;
        const abort = new AbortController();
        const done = this.#run(build, abort).catch((err: unknown) => {
          this.#o.logger.error({ err, build: build.id }, 'autobuild: the build could not run (the sweep fails it)');
        }).finally(() => {
          this.#running.delete(build.id);
          this.wake();
        });
        this.#running.set(build.id, { abort, done });
      }
    } catch (err) {
      this.#o.logger.error({ err }, 'autobuild: claiming a build failed');
    }
  }

  async #run(build: BuildRecord, abort: AbortController): Promise<void> {
    const { builds, logger } = this.#o;
    const limit = `log limit reached (${+(this.#o.logMaxBytes / mib).toFixed(1)} MiB)`;
    const log = await builds.logs.append(build.id, this.#o.logMaxBytes, () => abort.abort(new Error(limit)));
    let finish: FinishBuildInput;
    try {
      finish = await this.#attempt(build, abort, log);
    } finally {
      await new Promise<void>((resolve) => log.end(resolve));
    }
    try {
      if (!(await builds.store.finishBuild(build.id, finish))) logger.warn({ build: build.id }, 'autobuild: the build was no longer running when it finished');
      await builds.logs.remove(await builds.store.pruneBuilds(build.autobuildId, this.#o.keepBuilds));
    } catch (err) {
      logger.error({ err, build: build.id }, 'autobuild: recording the end of a build failed');
    }
  }

  /** The build's steps under its heartbeat and timeout, in a checkout removed after; answers how it ended. */
  async #attempt(build: BuildRecord, abort: AbortController, log: BuildLog): Promise<FinishBuildInput> {
    const beat = setInterval(() => void this.#beat(build.id, abort), this.#o.heartbeatMs);
    const timeout = setTimeout(() => abort.abort(new Error(`timed out after ${this.#o.timeoutSeconds} s (hub.builds.timeoutSeconds)`)), this.#o.timeoutSeconds * 1000);
    let dir: string | undefined;
    try {
      dir = join(this.#sources, build.id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const autobuild = await this.#o.builds.autobuild(build.autobuildId);
      const result = await this.#steps(build, autobuild, { dir, log, signal: abort.signal });
      return { state: 'succeeded', finishedAt: this.#o.now().toISOString(), ...result };
    } catch (err) {
      // An abort's reason (timeout, stop, ended elsewhere) says more than what it broke.
      const reason = abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason.message : (err as Error).message;
      log.force(`ERROR: ${reason}\n`);
      return { state: 'failed', finishedAt: this.#o.now().toISOString(), error: reason };
    } finally {
      clearInterval(beat);
      clearTimeout(timeout);
      abort.abort();
      if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  async #steps(build: BuildRecord, autobuild: AutobuildRecord, run: { dir: string; log: BuildLog; signal: AbortSignal }) {
    const { log, signal } = run;
    write(log, `Fetching ${autobuild.git} ${autobuild.ref}${build.commit ? ` at ${build.commit}` : ''}\n`);
    const commit = await fetchCommit(run.dir, { url: autobuild.git, ref: autobuild.ref, commit: build.commit, signal });
    await this.#o.builds.store.setCommit(build.id, commit);
    write(log, `Building commit ${commit} (context ${autobuild.context}, dockerfile ${autobuild.dockerfile})\n`);
    const archive = archiveContext(run.dir, commit, autobuild.context, signal);
    const archived = archive.done.then(() => undefined, (err: Error) => err);
    const name = engineTag(build.id);
    const imageId = await buildOnEngine({ socket: this.#o.socket, context: archive.stream, dockerfile: autobuild.dockerfile, tags: [name], log, signal }).catch(async (err: unknown) => {
      // git stops once its reader is gone; a context it could not archive fails the build with git's reason, not
      // the engine's view of a short tar.
      archive.stream.destroy();
      throw (await archived) ?? err;
    });
    const archiveError = await archived;
    if (archiveError) throw archiveError;
    const tags = [autobuild.tag, commit.slice(0, 12)];
    // Only while the build is still this process's: not after a timeout or a stale sweep failed it.
    const stillOurs = async () => {
      signal.throwIfAborted();
      if (!(await this.#o.builds.store.heartbeat(build.id, this.#o.now().toISOString()))) throw new Error('the build was ended elsewhere (failed as stale, or its autobuild removed)');
      signal.throwIfAborted();
    };
    const manifest = await publishImage(this.#o.publish, imageId, autobuild.repository, tags, stillOurs).finally(() =>
      removeEngineTag(this.#o.socket, name).catch((err: unknown) => this.#o.logger.warn({ err, build: build.id }, `autobuild: removing the engine tag ${name} failed`)));
    for (const tag of tags) {
      await this.#o.events?.manifest('push', autobuild.repository, manifest, tag).catch((err: unknown) => this.#o.logger.warn({ err }, 'autobuild: recording the push failed'));
      write(log, `Pushed ${autobuild.repository}:${tag} ${manifest.digest}\n`);
    }
    return { commit, tags: tags.map((tag) => `${autobuild.repository}:${tag}`), digest: manifest.digest };
  }

  async #beat(id: string, abort: AbortController): Promise<void> {
    const alive = await this.#o.builds.store.heartbeat(id, this.#o.now().toISOString()).catch((err: unknown) => {
      this.#o.logger.warn({ err, build: id }, 'autobuild: heartbeat failed');
      return true;
    });
    // Failed by another process's sweep, or its autobuild removed: stop working on it.
    if (!alive) abort.abort(new Error('the build was ended elsewhere (failed as stale, or its autobuild removed)'));
  }

  /** Stops claiming, aborts the running builds (each is failed with `interrupted`) and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#claiming;
    for (const { abort } of this.#running.values()) abort.abort(new Error(interrupted));
    await Promise.all([...this.#running.values()].map((r) => r.done));
  }
}

function write(log: BuildLog, text: string): void {
  if (!log.destroyed) log.write(text);
}
