import { Fault, isFault } from '../../base/fault.ts';
import { commitScratchLayer } from './scratch-layer.ts';
import { isHttpUrl } from './http-get.ts';
import { prepareCopy, type PreparedCopy } from './copy-sources.ts';
import type { Instruction } from './dockerfile-parser.ts';
import { expandWord } from './shell-lex.ts';
import { commitContainer, probeCache, type StepContext } from './step-context.ts';
import { splitWhitespace } from './dockerfile-args.ts';
import { findOrPull } from './base-image.ts';
import { expansionEnv, nopCommentString, type StageState } from './stage-state.ts';
import { withImageRoot } from './image-root.ts';

/**
 * COPY and ADD as moby's performCopy: the sources are read and checksummed first (the checksum is in the history
 * line and so in the cache key); on a miss they are copied into the stage's filesystem and committed. `--from`
 * reads from a finished stage's image or any image (pulled if missing), mounted for the time of the copy.
 */
export async function copyStep(ctx: StepContext, state: StageState, inst: Instruction): Promise<void> {
  const env = expansionEnv(state);
  const words = (inst.json ?? splitWhitespace(inst.args)).map((w) => expandWord(w, env, state.escape));
  const from = inst.flags.from;
  if (from !== undefined && inst.keyword === 'COPY') {
    const image = await sourceImage(ctx, from);
    await withImageRoot(ctx.containers, image, (root) => copyFrom(ctx, state, inst, words, root, false));
    return;
  }
  await copyFrom(ctx, state, inst, words, ctx.contextDir, true);
}

async function copyFrom(ctx: StepContext, state: StageState, inst: Instruction, words: string[], from: string, fromContext: boolean): Promise<void> {
  const env = expansionEnv(state);
  const chown = inst.flags.chown === undefined ? undefined : expandWord(inst.flags.chown, env, state.escape);
  const chmod = inst.flags.chmod === undefined ? undefined : expandWord(inst.flags.chmod, env, state.escape);
  const prepared = await prepareCopy({
    keyword: inst.keyword as 'COPY' | 'ADD',
    sources: words.slice(0, -1),
    destination: words.at(-1) ?? '',
    workdir: state.config.WorkingDir || '/',
    from,
    fromContext,
    ...(fromContext && ctx.contextMembers ? { contextMembers: ctx.contextMembers } : {}),
    ...(chown ? { chown } : {}),
    ...(chmod ? { chmod } : {}),
    scratchDir: ctx.scratchDir,
    signal: ctx.options.signal,
  });
  // moby's downloader ends each URL's download progress with an empty line on the build's output.
  if (inst.keyword === 'ADD') for (const source of words.slice(0, -1)) if (isHttpUrl(source)) ctx.output.say('\n');
  try {
    // moby's text (its `--chown=x` runs into the hash); --chmod, which moby's classic builder refuses, is named too
    // so that it reaches the cache key.
    const flags = `${chown ? `--chown=${chown}` : ''}${chmod ? `--chmod=${chmod} ` : ''}`;
    const comment = `${inst.keyword} ${flags}${prepared.describe} `;
    const probe = { ...state.config, Cmd: nopCommentString(state.config, comment) };
    if (await probeCache(ctx, state, probe, false)) return;
    if (state.image) await copyIntoImage(ctx, state, prepared, probe);
    else await commitScratchLayer(ctx, state, probe, (root) => prepared.apply(root));
  } finally {
    await prepared.dispose();
  }
}

/** The destination is a container of the stage's image (never started): its changes are the new layer. */
async function copyIntoImage(ctx: StepContext, state: StageState, prepared: PreparedCopy, probe: { Cmd: string[] }): Promise<void> {
  const { Id: id } = await ctx.containers.create({ Image: state.image, Cmd: probe.Cmd, Entrypoint: [''] });
  try {
    await ctx.containers.withRootfs(id, (root) => prepared.apply(root));
    await commitContainer(ctx, state, id, { ...state.config, Cmd: probe.Cmd });
  } finally {
    await ctx.containers.remove(id, { force: true, volumes: true }).catch(() => undefined);
  }
}

/** `--from`: a stage by name or index, else an image reference (moby's getImageMount). */
async function sourceImage(ctx: StepContext, from: string): Promise<string> {
  const stage = ctx.stages.get(from);
  if (stage && 'error' in stage) throw new Fault('invalid-argument', `invalid from flag value ${from}: ${stage.error}`);
  if (stage) return stage.image;
  try {
    return await findOrPull(ctx, from);
  } catch (err) {
    if (isFault(err)) throw new Fault(err.kind, `invalid from flag value ${from}: ${err.message}`, { cause: err });
    throw err;
  }
}
