import type { ProgressMessage, ProgressSink } from '../images/progress.ts';
import { shortId } from '../images/progress.ts';

/**
 * The classic builder's output, line for line as moby writes it (builder/dockerfile: printCommand, probeCache,
 * create, RemoveAll, WarnOnUnusedBuildArgs). With `-q` moby keeps everything in a buffer that only an error
 * releases, so a quiet build prints its image ID alone: `flush` is that release.
 */
export class BuildOutput {
  #sink: ProgressSink;
  #held: ProgressMessage[] | undefined;

  constructor(sink: ProgressSink, quiet: boolean) {
    this.#sink = sink;
    this.#held = quiet ? [] : undefined;
  }

  #emit(message: ProgressMessage): void {
    if (this.#held) this.#held.push(message);
    else this.#sink(message);
  }

  /** A message of a pull the build makes (FROM, COPY --from), passed on as it is. */
  progress(message: ProgressMessage): void {
    this.#emit(message);
  }

  /** Text on the build's stdout stream. */
  say(text: string): void {
    this.#emit({ stream: text });
  }

  /** A step's stderr: moby's stderr formatter colours it red. */
  sayError(text: string): void {
    this.#emit({ stream: `\u001b[91m${text}\u001b[0m` });
  }

  step(index: number, total: number, text: string): void {
    this.say(`Step ${index}/${total} : ${text}\n`);
  }

  /** ` ---> <id>` after each step; scratch has no ID yet and moby prints the arrow alone. */
  image(id: string): void {
    this.say(` ---> ${id ? shortId(id) : ''}\n`);
  }

  usingCache(): void {
    this.say(' ---> Using cache\n');
  }

  runningIn(containerId: string): void {
    this.say(` ---> Running in ${containerId.slice(0, 12)}\n`);
  }

  removed(containerId: string): void {
    this.say(`Removing intermediate container ${containerId.slice(0, 12)}\n`);
  }

  triggers(count: number): void {
    this.say(`# Executing ${count} build trigger${count > 1 ? 's' : ''}\n`);
  }

  /** The aux message with a stage's image ID (moby emits one per stage). */
  result(id: string): void {
    this.#emit({ aux: { ID: id } });
  }

  /** The end of a successful build: moby's lines, or the ID alone when quiet. */
  finish(id: string, tags: string[]): void {
    if (this.#held) {
      this.#held = undefined;
      this.#sink({ stream: `${id}\n` });
      return;
    }
    this.say(`Successfully built ${shortId(id)}\n`);
    for (const tag of tags) this.say(`Successfully tagged ${tag}\n`);
  }

  /** A failed quiet build shows what it held back before the error, as moby does. */
  flush(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const message of held) this.#sink(message);
  }
}
