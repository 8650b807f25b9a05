import { Fault } from '../../base/fault.ts';
import type { ImageRuntimeConfig } from '../images/image-config.ts';
import { findOrPull } from './base-image.ts';
import type { BuildArgs } from './build-args.ts';
import { checkPlatform, isOptionLabel, type PlannedStage, type PlannedStep } from './build-plan.ts';
import { copyStep } from './copy-step.ts';
import { parseInstruction, type Instruction } from './dockerfile-parser.ts';
import { metadataKeywords } from './instruction-config.ts';
import { metadataStep, optionLabelStep, workdirStep } from './metadata-step.ts';
import { runStep } from './run-step.ts';
import { expandWord } from './shell-lex.ts';
import type { StageState } from './stage-state.ts';
import type { StepContext } from './step-context.ts';

/** moby's system.DefaultPathEnv for Linux: what a stage's Env gets when its base sets no PATH. */
export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A step counter shared by the stages: "Step i/N". */
export interface StepCounter {
  next(): number;
  total: number;
}

/**
 * One stage as moby's dispatchDockerfileWithCancellation runs it: FROM (a stage, scratch or an image), the base's
 * ONBUILD triggers, then each step; after each, the step's containers are settled and the image ID printed.
 */
export async function runStage(ctx: StepContext, planned: PlannedStage, args: BuildArgs, escape: string, counter: StepCounter): Promise<StageState> {
  const { stage } = planned;
  if (ctx.stages.has(stage.name)) throw new Fault('invalid-argument', `${stage.name} stage name already used`);
  ctx.stages.begin(stage);
  ctx.output.step(counter.next(), counter.total, stage.from.original);
  const state = await beginStage(ctx, planned, args, escape);
  ctx.output.image(state.image);
  for (const step of planned.steps) {
    if (ctx.options.signal?.aborted) {
      ctx.output.say('Build cancelled\n');
      throw new Fault('unavailable', 'Build cancelled');
    }
    ctx.output.step(counter.next(), counter.total, isOptionLabel(step) ? `LABEL ${step.label[0]}=${step.label[1]}` : step.original);
    await dispatch(ctx, state, step);
    ctx.output.image(state.image);
  }
  return state;
}

async function beginStage(ctx: StepContext, planned: PlannedStage, args: BuildArgs, escape: string): Promise<StageState> {
  const { stage } = planned;
  const meta = args.meta();
  if (stage.platform) checkPlatform(expandWord(stage.platform, meta, escape));
  const name = expandWord(stage.base, meta, escape);
  if (!name) throw new Fault('invalid-argument', `base name (${stage.base}) should not be blank`);
  const image = ctx.stages.byName(name) ?? (name === 'scratch' ? '' : await findOrPull(ctx, name));
  const config: ImageRuntimeConfig = image ? structuredClone((await ctx.images.store.config(image)).config ?? {}) : {};
  if (!(config.Env ?? []).some((e) => e.split('=', 1)[0] === 'PATH')) config.Env = [...(config.Env ?? []), `PATH=${defaultPath}`];
  const state: StageState = { name: stage.name, image, config, maintainer: '', cmdSet: false, args: args.forStage(), escape };
  const triggers = config.OnBuild ?? [];
  if (triggers.length) {
    config.OnBuild = null;
    ctx.output.triggers(triggers.length);
    for (const trigger of triggers) await dispatch(ctx, state, parseInstruction(trigger));
  }
  return state;
}

/** One step, then its containers removed as rm/forcerm say (moby's deferred RemoveAll). */
async function dispatch(ctx: StepContext, state: StageState, step: PlannedStep): Promise<void> {
  let failed = true;
  try {
    if (isOptionLabel(step)) await optionLabelStep(ctx, state, step.label);
    else await dispatchInstruction(ctx, state, step);
    failed = false;
  } finally {
    await ctx.steps.settle(failed);
  }
}

async function dispatchInstruction(ctx: StepContext, state: StageState, inst: Instruction): Promise<void> {
  switch (inst.keyword) {
    case 'RUN':
      return runStep(ctx, state, inst);
    case 'COPY':
    case 'ADD':
      return copyStep(ctx, state, inst);
    case 'WORKDIR':
      return workdirStep(ctx, state, inst);
    default:
      if (metadataKeywords.has(inst.keyword)) return metadataStep(ctx, state, inst);
      throw new Fault('invalid-argument', `unsupported command type: ${inst.keyword}`);
  }
}
