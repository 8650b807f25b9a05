import { mkdir, stat } from 'node:fs/promises';
import { Fault } from '../../base/fault.ts';
import type { Instruction } from './dockerfile-parser.ts';
import { applyMetadata, workdirOf } from './instruction-config.ts';
import { commitScratchLayer } from './scratch-layer.ts';
import { resolveInRoot } from './scoped-copy.ts';
import { nopComment, nopCommentString, type StageState } from './stage-state.ts';
import { commitConfig, commitContainer, probeCache, type StepContext } from './step-context.ts';

/**
 * ENV, LABEL, CMD… as moby's builder.commit: the config changes, then a cached image with the same config is
 * reused, else a container of the step is created (moby's " ---> Running in") and a new image is made with
 * the config on the same layers.
 */
export async function metadataStep(ctx: StepContext, state: StageState, inst: Instruction): Promise<void> {
  const { comment, note } = applyMetadata(state, inst);
  if (note) ctx.output.say(note);
  await commitMetadata(ctx, state, comment);
}

/** `--label k=v`: a LABEL step of the last stage, its value taken literally. */
export async function optionLabelStep(ctx: StepContext, state: StageState, [key, value]: [string, string]): Promise<void> {
  state.config.Labels = { ...state.config.Labels, [key]: value };
  await commitMetadata(ctx, state, `LABEL ${key}=${value}`);
}

async function commitMetadata(ctx: StepContext, state: StageState, comment: string): Promise<void> {
  const probe = { ...state.config, Cmd: nopComment(state.config, comment) };
  if (await probeCache(ctx, state, probe, true)) return;
  const parent = state.image;
  if (parent) await ctx.steps.create({ image: parent, config: state.config, cmd: probe.Cmd });
  await commitConfig(ctx, state, probe);
  // FROM scratch has no image to make moby's step container of: the new image (no layers either) serves.
  if (!parent) await ctx.steps.create({ image: state.image, config: state.config, cmd: probe.Cmd });
}

/**
 * WORKDIR as moby's dispatchWorkdir: the directory is made in the step's container when missing (owned by root)
 * and committed; when it exists the image only changes its config (an empty layer, as moby's empty diff).
 */
export async function workdirStep(ctx: StepContext, state: StageState, inst: Instruction): Promise<void> {
  state.config.WorkingDir = workdirOf(state, inst);
  const dir = state.config.WorkingDir;
  const probe = { ...state.config, Cmd: nopCommentString(state.config, `WORKDIR ${dir}`) };
  if (await probeCache(ctx, state, probe, false)) return;
  if (!state.image) return commitScratchLayer(ctx, state, probe, async (root) => {
      await makeDir(root, dir);
    });
  const id = await ctx.steps.create({ image: state.image, config: state.config, cmd: probe.Cmd });
  const made = await ctx.containers.withRootfs(id, (root) => makeDir(root, dir));
  if (made) await commitContainer(ctx, state, id, probe);
  else await commitConfig(ctx, state, probe);
}

/** Creates `dir` inside `root` unless it is there; true when it made something. */
async function makeDir(root: string, dir: string): Promise<boolean> {
  const target = await resolveInRoot(root, dir);
  const st = await stat(target).catch(() => undefined);
  if (st?.isDirectory()) return false;
  if (st) throw new Fault('invalid-argument', `Cannot mkdir: ${dir} is not a directory`);
  await mkdir(target, { recursive: true, mode: 0o755 });
  return true;
}
