import { Writable } from 'node:stream';
import type { ContainerManager } from '../containers/container-manager.ts';
import type { ImageRuntimeConfig } from '../images/image-config.ts';
import type { StepHostConfig } from './build-options.ts';
import type { BuildOutput } from './build-output.ts';

/** The container of one step: the stage's config with the step's command, in the build's resources and network. */
export interface StepContainerConfig {
  image: string;
  config: ImageRuntimeConfig;
  cmd: string[];
  entrypoint?: string[] | null;
  env?: string[];
  /** RUN containers run no healthcheck (moby sets NONE). */
  noHealthcheck?: boolean;
}

/**
 * moby's containerManager for one build: creates each step's container (" ---> Running in …", with the create
 * warnings) and, after each step, removes them as `rm` / `forcerm` say: on success unless rm=false, on failure
 * only with forcerm, printing "Removing intermediate container …" for each.
 */
export class StepContainers {
  #containers: ContainerManager;
  #host: StepHostConfig;
  #output: BuildOutput;
  #remove: boolean;
  #forceRemove: boolean;
  #pending: string[] = [];

  constructor(deps: { containers: ContainerManager; host: StepHostConfig; output: BuildOutput; remove: boolean; forceRemove: boolean }) {
    this.#containers = deps.containers;
    this.#host = deps.host;
    this.#output = deps.output;
    this.#remove = deps.remove;
    this.#forceRemove = deps.forceRemove;
  }

  async create(step: StepContainerConfig): Promise<string> {
    const { Id: id, Warnings: warnings } = await this.#containers.create({
      Image: step.image,
      Cmd: step.cmd,
      Entrypoint: step.entrypoint === undefined ? step.config.Entrypoint ?? null : step.entrypoint,
      Env: step.env ?? step.config.Env ?? [],
      WorkingDir: step.config.WorkingDir ?? '',
      User: step.config.User ?? '',
      ...(step.noHealthcheck ? { Healthcheck: { Test: ['NONE'] } } : {}),
      HostConfig: { ...this.#host },
    });
    this.#pending.push(id);
    for (const warning of warnings ?? []) this.#output.say(` ---> [Warning] ${warning}\n`);
    this.#output.runningIn(id);
    return id;
  }

  /** The end of a step: its containers go unless rm=false (or, after a failure, unless forcerm). */
  async settle(failed: boolean): Promise<void> {
    if (!this.#forceRemove && (!this.#remove || failed)) {
      this.#pending = [];
      return;
    }
    for (const id of this.#pending.splice(0)) {
      try {
        await this.#containers.remove(id, { force: true, volumes: true });
      } catch (err) {
        this.#output.say(`Error removing intermediate container ${id.slice(0, 12)}: ${(err as Error).message}\n`);
        return;
      }
      this.#output.removed(id);
    }
  }

  /** A step's process output: stdcopy frames to the build's stdout and (red) stderr. */
  outputSink(): Writable {
    return new Deframer(this.#output);
  }
}

/** stdcopy frames (non-TTY attach) to text, stdout and stderr apart. */
class Deframer extends Writable {
  #buffer = Buffer.alloc(0);
  #output: BuildOutput;

  constructor(output: BuildOutput) {
    super();
    this.#output = output;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 8) {
      const size = this.#buffer.readUInt32BE(4);
      if (this.#buffer.length < 8 + size) break;
      const text = this.#buffer.subarray(8, 8 + size).toString('utf8');
      if (this.#buffer[0] === 2) this.#output.sayError(text);
      else this.#output.say(text);
      this.#buffer = this.#buffer.subarray(8 + size);
    }
    done();
  }
}
