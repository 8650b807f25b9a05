import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageRuntimeConfig } from '../images/image-config.ts';
import { FilterProcess } from '../images/filter-process.ts';
import { stepKey, type StepContext } from './step-context.ts';
import type { StageState } from './stage-state.ts';

/**
 * A step of a `FROM scratch` stage that has committed nothing yet: `fill` writes into an empty directory, whose
 * content becomes the stage's first layer (an image without parent), recorded for the cache.
 */
export async function commitScratchLayer(ctx: StepContext, state: StageState, probe: ImageRuntimeConfig, fill: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(ctx.scratchDir, 'root-'));
  try {
    await fill(root);
    // The entries, not `.`: the temp directory's own mode must not become the image's `/`.
    const names = await readdir(root);
    const tar = new FilterProcess('tar', ['--numeric-owner', '-b', '1', '-C', root, '-cf', '-', '--files-from=/dev/null', '--', ...names], { name: 'tar' });
    tar.end();
    state.image = await ctx.images.commit(
      tar,
      { imageId: '', containerId: '', config: structuredClone(state.config), createdBy: (probe.Cmd ?? []).join(' ') },
      { ...(state.maintainer ? { author: state.maintainer } : {}), buildKey: stepKey(probe) },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
