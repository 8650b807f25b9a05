import type { ImageRuntimeConfig } from '../images/image-config.ts';
import type { BuildArgs } from './build-args.ts';

/** moby's dispatchState: what one stage has built so far. */
export interface StageState {
  /** `FROM … AS name`, for COPY --from and later FROMs. */
  name?: string;
  /** The image the last step made; '' while a `FROM scratch` stage has committed nothing. */
  image: string;
  config: ImageRuntimeConfig;
  /** MAINTAINER: the author of every image the stage commits after it. */
  maintainer: string;
  /** A CMD was given in this stage: a later ENTRYPOINT keeps it. */
  cmdSet: boolean;
  args: BuildArgs;
  escape: string;
}

/** What words expand with: the image's environment, then the ARGs it does not set (ENV wins over ARG). */
export function expansionEnv(state: StageState): Map<string, string> {
  const env = new Map<string, string>();
  const entries = [...(state.config.Env ?? []), ...state.args.filterAllowed(state.config.Env ?? [])];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    else env.set(entry, '');
  }
  return env;
}

/** The shell of shell-form commands: the stage's SHELL, else /bin/sh -c. */
export function shellOf(config: ImageRuntimeConfig): string[] {
  return config.Shell?.length ? [...config.Shell] : ['/bin/sh', '-c'];
}

/** The created-by text of a metadata step: moby's `#(nop) ` comment command joined. */
export function nopComment(config: ImageRuntimeConfig, comment: string): string[] {
  return [...shellOf(config), '#(nop) ', comment];
}

/** The same with the comment in one word, as COPY, ADD and WORKDIR write it (withCmdCommentString). */
export function nopCommentString(config: ImageRuntimeConfig, comment: string): string[] {
  return [...shellOf(config), `#(nop) ${comment}`];
}
