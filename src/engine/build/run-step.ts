import { Fault } from '../../base/fault.ts';
import { untilAborted } from '../../base/until-aborted.ts';
import type { BuildArgs } from './build-args.ts';
import type { Instruction } from './dockerfile-parser.ts';
import { commandLine } from './instruction-config.ts';
import { commitContainer, probeCache, type StepContext } from './step-context.ts';
import type { StageState } from './stage-state.ts';

/**
 * RUN as moby's dispatchRun: the command runs in a container of the stage's image with the stage's ARGs (those
 * ENV does not set) in its environment; the history line and the cache key carry those ARGs as `|N K=v … cmd`.
 */
export async function runStep(ctx: StepContext, state: StageState, inst: Instruction): Promise<void> {
  const flag = Object.keys(inst.flags)[0];
  if (flag) throw new Fault('invalid-argument', `the --${flag} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
  const cmd = commandLine(state, inst);
  const argEnv = state.args.filterAllowed(state.config.Env ?? []);
  const saveCmd = argEnv.length ? withArgs(state.args, argEnv, cmd) : cmd;
  const probe = { ...state.config, Cmd: saveCmd, ...(saveCmd.length ? { Entrypoint: null } : {}) };
  if (await probeCache(ctx, state, probe, false)) return;
  if (!state.image) throw new Fault('invalid-argument', noShell(cmd));
  const id = await ctx.steps.create({ image: state.image, config: state.config, cmd, entrypoint: saveCmd.length ? [''] : state.config.Entrypoint, env: [...(state.config.Env ?? []), ...argEnv], noHealthcheck: true });
  const code = await runContainer(ctx, id);
  if (code !== 0) throw new Fault('invalid-argument', `The command '${cmd.join(' ')}' returned a non-zero code: ${code}`, { detail: { code } });
  await commitContainer(ctx, state, id, probe);
}

/** moby's prependEnvOnCmd: `|N` and the ARGs sorted, proxies only when declared. */
function withArgs(args: BuildArgs, argEnv: string[], cmd: string[]): string[] {
  const kept = argEnv.filter((entry) => args.isReferencedOrNotBuiltin(entry.split('=', 1)[0])).sort();
  return [`|${kept.length}`, ...kept, ...cmd];
}

/**
 * A RUN right after `FROM scratch` has no image to make a container of (moby makes one of nothing and runc then
 * fails): the same failure, in the engine's runtime's words for a command that does not exist.
 */
function noShell(cmd: string[]): string {
  return `failed to create task for container: OCI runtime create failed: runc create failed: unable to start container process: exec: "${cmd[0]}": stat ${cmd[0]}: no such file or directory: unknown`;
}

/** Starts the container with its output attached to the build's and waits for it; the client leaving stops it. */
async function runContainer(ctx: StepContext, id: string): Promise<number> {
  const detach = ctx.containers.attach(id, ctx.steps.outputSink(), undefined, { stdin: false, stdout: true, stderr: true });
  const exited = ctx.containers.wait(id, 'next-exit');
  try {
    await ctx.containers.start(id);
    return await untilAborted(exited, ctx.options.signal);
  } catch (err) {
    // moby kills and removes the step's container when the client cancels the build.
    if (ctx.options.signal?.aborted) await ctx.containers.remove(id, { force: true, volumes: true }).catch(() => undefined);
    throw err;
  } finally {
    detach();
  }
}
