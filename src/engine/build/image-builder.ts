/*
 * `docker build` as moby's classic builder does it (the docker CLI uses it when buildx is absent or with
 * DOCKER_BUILDKIT=0): the context arrives as a tar (or `remote=`), the stages the target needs run (build-plan.ts),
 * each step yields an image kept as an untagged child of the one before (the layer cache finds them again), and
 * the output is moby's, line for line. The steps live in their own modules: stage-runner.ts dispatches them.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import { familiarReference, parseReference, withDefaultTag } from '../../client/reference.ts';
import { visibleChanges } from '../containers/container-changes.ts';
import type { ContainerManager } from '../containers/container-manager.ts';
import type { Snapshotter } from '../snapshots/snapshotter.ts';
import type { ImageService } from '../images/image-service.ts';
import { BuildArgs } from './build-args.ts';
import type { BuildCache } from './build-cache.ts';
import { openBuildContext } from './build-context.ts';
import type { BuildOptions } from './build-options.ts';
import { BuildOutput } from './build-output.ts';
import { planBuild, platformArgs, type BuildPlan } from './build-plan.ts';
import { argPairs, parseDockerfile, type Dockerfile, type Instruction } from './dockerfile-parser.ts';
import { expandWord } from './shell-lex.ts';
import { StageResults, type StepContext } from './step-context.ts';
import { StepContainers } from './step-containers.ts';
import { runStage } from './stage-runner.ts';

export type { BuildOptions } from './build-options.ts';

export class ImageBuilder {
  #images: ImageService;
  #containers: ContainerManager;
  #cache: BuildCache;
  #snapshotter: Snapshotter;
  #workDir: string;

  constructor(deps: { images: ImageService; containers: ContainerManager; cache: BuildCache; snapshotter: Snapshotter; workDir: string }) {
    this.#images = deps.images;
    this.#snapshotter = deps.snapshotter;
    this.#containers = deps.containers;
    this.#cache = deps.cache;
    this.#workDir = deps.workDir;
  }

  /** Builds the image; resolves with its ID once tagged. */
  async build(body: Readable, options: BuildOptions): Promise<string> {
    const tags = (options.tags ?? []).map((tag) => withDefaultTag(parseReference(tag)));
    const output = new BuildOutput(options.progress, options.quiet === true);
    const context = await openBuildContext({ body, remote: options.remote, dockerfile: options.dockerfile, workDir: this.#workDir, signal: options.signal });
    try {
      const dockerfile = parseDockerfile(await readFile(context.dockerfile, 'utf8'), options.dockerfile || 'Dockerfile');
      if (dockerfile.warnings.length) output.sayError(`${dockerfile.warnings.join('\n')}\n`);
      const scratchDir = await mkdtemp(join(context.dir, '..', 'scratch-'));
      const steps = new StepContainers({ containers: this.#containers, host: options.hostConfig, output, remove: options.remove !== false, forceRemove: options.forceRemove === true });
      const changed = (id: string) => this.#changed(id);
      const ctx: StepContext = { images: this.#images, containers: this.#containers, cache: this.#cache, output, steps, options, contextDir: context.dir, contextMembers: context.members, scratchDir, stages: new StageResults(dockerfile.stages), changed };
      const id = await runPlan(ctx, dockerfile);
      for (const tag of tags) this.#images.tagImage(id, tag);
      output.finish(id, tags.map((tag) => familiarReference(tag)));
      return id;
    } catch (err) {
      output.flush();
      throw err;
    } finally {
      await context.dispose();
    }
  }

  async #changed(containerId: string): Promise<boolean> {
    if (!this.#snapshotter.changes) return true;
    const { record } = this.#containers.logSource(containerId);
    return visibleChanges(await this.#snapshotter.changes(record.snapshotKey)).length > 0;
  }
}

/** The meta ARGs, then each stage the target needs; the unused-build-arg warning at the end, as moby prints it. */
async function runPlan(ctx: StepContext, dockerfile: Dockerfile): Promise<string> {
  const { escape } = dockerfile;
  const plan = planStages(ctx, dockerfile);
  const args = new BuildArgs(ctx.options.buildArgs ?? {}, platformArgs());
  let index = 1;
  const counter = { next: () => index++, total: plan.total };
  declareMetaArgs(args, plan.metaArgs, escape, (meta) => ctx.output.step(counter.next(), plan.total, meta.original));
  let image = '';
  for (const planned of plan.stages) {
    const state = await runStage(ctx, planned, args, escape, counter);
    if (state.image) ctx.output.result(state.image);
    args.mergeReferenced(state.args);
    ctx.stages.add(planned.stage, state.image);
    image = state.image;
  }
  const warning = args.unusedWarning();
  if (warning) ctx.output.say(warning);
  if (!image) throw new Fault('invalid-argument', 'No image was generated. Is your Dockerfile empty?');
  return image;
}

/**
 * The plan needs each FROM as the meta ARGs expand it, before the first "Step 1/N" line says N: a silent pass over
 * the meta ARGs on args of its own gives those values (one that fails to expand fails again, aloud, in runPlan).
 */
function planStages(ctx: StepContext, dockerfile: Dockerfile): BuildPlan {
  const { escape } = dockerfile;
  const args = new BuildArgs(ctx.options.buildArgs ?? {}, platformArgs());
  try {
    declareMetaArgs(args, dockerfile.metaArgs, escape);
  } catch {
    // The meta ARGs before the failing one still tell which stages are needed.
  }
  const meta = args.meta();
  return planBuild(dockerfile, ctx.options.target, ctx.options.labels ?? {}, (stage) => {
    try {
      return expandWord(stage.base, meta, escape);
    } catch {
      return undefined;
    }
  });
}

/** moby's meta ARG dispatch: each value expands with the meta ARGs before it; `announce` prints the step first. */
function declareMetaArgs(args: BuildArgs, metaArgs: readonly Instruction[], escape: string, announce?: (meta: Instruction) => void): void {
  for (const meta of metaArgs) {
    announce?.(meta);
    const env = args.meta();
    for (const { name, value } of argPairs(meta, escape)) {
      const expanded = value === undefined ? undefined : expandWord(value, env, escape);
      args.addArg(expandWord(name, env, escape), expanded);
      args.addMetaArg(expandWord(name, env, escape), expanded);
    }
  }
}
