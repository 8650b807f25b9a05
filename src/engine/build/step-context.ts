import { createHash } from 'node:crypto';
import type { ContainerManager } from '../containers/container-manager.ts';
import type { ImageRuntimeConfig } from '../images/image-config.ts';
import type { ImageService } from '../images/image-service.ts';
import type { BuildCache } from './build-cache.ts';
import type { BuildOptions } from './build-options.ts';
import type { BuildOutput } from './build-output.ts';
import type { Stage } from './dockerfile-parser.ts';
import type { StageState } from './stage-state.ts';
import type { StepContainers } from './step-containers.ts';

/** What every step of one build shares. */
export interface StepContext {
  images: ImageService;
  containers: ContainerManager;
  cache: BuildCache;
  output: BuildOutput;
  steps: StepContainers;
  options: BuildOptions;
  /** The unpacked build context. */
  contextDir: string;
  /** The context tar's member names, for COPY's directory hashes (BuildContext.members). */
  contextMembers?: ReadonlySet<string>;
  /** A directory of this build for downloads and scratch roots; removed with the context. */
  scratchDir: string;
  /** Images of the finished stages, by index and by lower-cased name (COPY --from, FROM <stage>). */
  stages: StageResults;
  /** Whether a step's container changed its filesystem (as `docker diff` sees it: runtime mount points aside). */
  changed(containerId: string): Promise<boolean>;
}

/**
 * The images of the stages built so far, by index and by lower-cased name. A build skips the stages its target
 * does not need (build-plan.ts), so indexes are the Dockerfile's and an earlier index may have no image.
 */
export class StageResults {
  #stages: readonly Stage[];
  #byIndex = new Map<number, string>();
  #byName = new Map<string, string>();
  #current = 0;

  /** `stages`: every stage of the Dockerfile, to tell a skipped one from an image of the same name. */
  constructor(stages: readonly Stage[]) {
    this.#stages = stages;
  }

  /** moby's checkStageNameAvailable. */
  has(name: string | undefined): boolean {
    return name !== undefined && this.#byName.has(name.toLowerCase());
  }

  /** The stage now running: what "refers to current build stage" means. */
  begin(stage: Stage): void {
    this.#current = stage.index;
  }

  add(stage: Stage, image: string): void {
    if (stage.name) this.#byName.set(stage.name, image);
    this.#byIndex.set(stage.index, image);
  }

  byName(name: string): string | undefined {
    return this.#byName.get(name.toLowerCase());
  }

  /** A stage by name or index (moby's stagesBuildResults.get): an Error text for a bad index, undefined if neither. */
  get(nameOrIndex: string): { image: string } | { error: string } | undefined {
    const named = this.byName(nameOrIndex);
    if (named !== undefined) return { image: named };
    const skipped = this.#stages.slice(0, this.#current).findLast((s) => s.name === nameOrIndex.toLowerCase());
    if (skipped) return { error: this.#skippedError(skipped) };
    if (!/^[+-]?\d+$/.test(nameOrIndex)) return undefined;
    const index = Number(nameOrIndex);
    if (index === this.#current) return { error: 'refers to current build stage' };
    if (index < 0 || index > this.#current) return { error: 'index out of bounds' };
    const image = this.#byIndex.get(index);
    return image === undefined ? { error: this.#skippedError(this.#stages[index]) } : { image };
  }

  /** Only an ONBUILD trigger of a base image can name a stage the plan did not see a use of. */
  #skippedError(stage: Stage): string {
    return `stage ${stage.name ?? stage.index} was skipped: the build target does not use it (an ONBUILD trigger cannot add a stage)`;
  }
}

/** The step's cache key: the config it is committed with (moby compares the whole runconfig; the parent is apart). */
export function stepKey(probe: ImageRuntimeConfig): string {
  return createHash('sha256').update(stableJson(probe)).digest('hex');
}

/**
 * moby's probeCache: with --no-cache nothing hits; with --cache-from only those images' history (or a local
 * image descending into them) counts; otherwise a child of the parent made with the same key. A hit becomes
 * the stage's image, announced with " ---> Using cache".
 */
export async function probeCache(ctx: StepContext, state: StageState, probe: ImageRuntimeConfig, emptyLayer: boolean): Promise<boolean> {
  if (ctx.options.noCache) return false;
  const key = stepKey(probe);
  const createdBy = (probe.Cmd ?? []).join(' ');
  const hit = ctx.options.cacheFrom?.length
    ? await ctx.cache.lookupFrom(ctx.options.cacheFrom, state.image, createdBy, emptyLayer, { key, config: state.config })
    : ctx.cache.lookup(state.image, key);
  if (!hit) return false;
  ctx.output.usingCache();
  state.image = hit;
  return true;
}

/** A step that only changes the config: a new image on the parent's layers, recorded for the cache. */
export async function commitConfig(ctx: StepContext, state: StageState, probe: ImageRuntimeConfig): Promise<void> {
  const createdBy = (probe.Cmd ?? []).join(' ');
  state.image = await ctx.images.deriveConfig(state.image, structuredClone(state.config), createdBy, { buildKey: stepKey(probe), author: state.maintainer || undefined });
}

/**
 * A step's container's changes become the stage's next image, recorded for the cache; a container that changed
 * nothing gives an empty layer, as moby's commit of an empty diff does.
 */
export async function commitContainer(ctx: StepContext, state: StageState, containerId: string, probe: ImageRuntimeConfig): Promise<void> {
  if (!(await ctx.changed(containerId))) return commitConfig(ctx, state, probe);
  const parent = state.image;
  state.image = await ctx.containers.commit(containerId, {
    imageConfig: structuredClone(state.config),
    createdBy: (probe.Cmd ?? []).join(' '),
    pause: false,
    ...(state.maintainer ? { author: state.maintainer } : {}),
  });
  ctx.cache.record(parent, stepKey(probe), state.image);
}

/** JSON with object keys sorted, so equal configs give equal keys whatever order their fields were set in. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
