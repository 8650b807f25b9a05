import type { StepContext } from './step-context.ts';

/**
 * moby's GetImageAndReleasableLayer for the builder: the local image unless `--pull` asks for a fresh one, else
 * pulled, its progress in the build's output. Returns the image ID.
 */
export async function findOrPull(ctx: StepContext, name: string): Promise<string> {
  if (!ctx.options.pull) {
    const local = ctx.images.store.find(name);
    if (local) return local.id;
  }
  const pulled = await ctx.images.pull(name, { progress: (message) => ctx.output.progress(message), signal: ctx.options.signal });
  return pulled.id;
}
