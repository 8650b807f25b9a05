/*
 * `docker build` as the legacy builder does it (the docker CLI falls back to it when buildx is absent): the context
 * arrives as a tar, each Dockerfile step yields an image. RUN runs in a container of the engine and is committed;
 * COPY/ADD copy from the context into a container's filesystem and commit it; metadata steps derive a new config.
 * Single-stage only; intermediate images are forgotten once the build ends (their layers live on in the result).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseHealthcheck } from './healthcheck-instruction.ts';
import { Fault, isFault } from '../../base/fault.ts';
import type { ContainerManager } from '../containers/container-manager.ts';
import type { ImageRuntimeConfig } from '../images/image-config.ts';
import type { ImageService } from '../images/image-service.ts';
import type { ProgressSink } from '../images/progress.ts';
import { shortId } from '../images/progress.ts';
import { execForm, keyValues, parseDockerfile, shellWords, substitute, type Instruction } from './dockerfile.ts';
import { copyIntoRoot, resolveInRoot } from './scoped-copy.ts';
import { FilterProcess } from '../images/filter-process.ts';
import { decompressStream } from '../images/layer-compression.ts';

export interface BuildOptions {
  /** Path of the Dockerfile inside the context. */
  dockerfile?: string;
  tags?: string[];
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  quiet?: boolean;
  /** RUN steps' network: `default` (a private namespace with loopback) or `host`, as `docker build --network`. */
  networkMode?: string;
  progress: ProgressSink;
  signal?: AbortSignal;
}

interface BuildState {
  image: string;
  config: ImageRuntimeConfig;
  /** ARGs declared in the stage that have a value (RUN sees them as environment). */
  args: Map<string, string>;
  /** ARGs declared before FROM: an `ARG NAME` without default in the stage takes its value from here. */
  globalArgs: ReadonlyMap<string, string>;
  /** Images made by earlier steps: forgotten at the end unless one is the result. */
  intermediates: string[];
}

const metadataKeywords = new Set(['ENV', 'LABEL', 'CMD', 'ENTRYPOINT', 'WORKDIR', 'USER', 'EXPOSE', 'VOLUME', 'STOPSIGNAL', 'ARG', 'MAINTAINER', 'ONBUILD', 'SHELL', 'HEALTHCHECK']);

export class ImageBuilder {
  #images: ImageService;
  #containers: ContainerManager;
  #workDir: string;

  constructor(deps: { images: ImageService; containers: ContainerManager; workDir: string }) {
    this.#images = deps.images;
    this.#containers = deps.containers;
    this.#workDir = deps.workDir;
  }

  async build(context: Readable, options: BuildOptions): Promise<string> {
    const dir = resolve(this.#workDir, `context-${randomUUID()}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      await extractContext(context, dir);
      const dockerfile = await resolveInRoot(dir, options.dockerfile || 'Dockerfile');
      if (!existsSync(dockerfile)) throw new Fault('invalid-argument', `Cannot locate specified Dockerfile: ${options.dockerfile || 'Dockerfile'}`);
      return await this.#run(parseDockerfile(readFileSync(dockerfile, 'utf8')), dir, options);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async #run(instructions: Instruction[], context: string, options: BuildOptions): Promise<string> {
    const say = (text: string) => options.quiet || options.progress({ stream: text });
    const froms = instructions.filter((i) => i.keyword === 'FROM');
    if (froms.length !== 1) throw new Fault('not-implemented', 'multi-stage builds are not supported by this engine yet: use a single FROM');
    const globalArgs = new Map<string, string>();
    let state: BuildState | undefined;
    for (const [index, step] of instructions.entries()) {
      options.signal?.throwIfAborted();
      say(`Step ${index + 1}/${instructions.length} : ${step.original}\n`);
      if (!state) {
        if (step.keyword === 'ARG') {
          for (const [key, value] of keyValues(step.args, 'ARG')) globalArgs.set(key, options.buildArgs?.[key] ?? value);
          continue;
        }
        if (step.keyword !== 'FROM') throw new Fault('invalid-argument', `the first instruction must be FROM, not ${step.keyword}`);
        state = await this.#from(substitute(step.args, globalArgs), globalArgs, options);
      } else if (step.keyword === 'FROM') {
        throw new Fault('not-implemented', 'multi-stage builds are not supported by this engine yet');
      } else if (step.keyword === 'RUN') {
        await this.#runStep(state, step, options, say);
      } else if (step.keyword === 'ADD' && /\.(tar|tgz|tar\.(gz|bz2|xz|zst))$/i.test(step.args.trim().split(/\s+/).at(-2) ?? '')) {
        throw new Fault('not-implemented', 'ADD does not unpack archives in this engine yet: COPY the archive and RUN tar');
      } else if (step.keyword === 'COPY' || step.keyword === 'ADD') {
        await this.#copyStep(state, step, context);
      } else if (metadataKeywords.has(step.keyword)) {
        await this.#metadataStep(state, step, options);
      } else {
        throw new Fault('invalid-argument', `dockerfile parse error on line ${step.line}: unknown instruction: ${step.keyword}`);
      }
      say(` ---> ${shortId(state.image)}\n`);
    }
    if (!state) throw new Fault('invalid-argument', 'the Dockerfile has no FROM');
    if (options.labels && Object.keys(options.labels).length) {
      state.config = { ...state.config, Labels: { ...state.config.Labels, ...options.labels } };
      await this.#derive(state, `/bin/sh -c #(nop)  LABEL ${Object.entries(options.labels).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    const result = state.image;
    for (const id of state.intermediates) if (id !== result && !this.#images.store.tags(id).length) this.#images.store.delete(id);
    for (const tag of options.tags ?? []) this.#images.tag(result, tag);
    options.progress({ aux: { ID: result } });
    if (options.quiet) options.progress({ stream: `${result}\n` });
    else {
      say(`Successfully built ${shortId(result)}\n`);
      for (const tag of options.tags ?? []) say(`Successfully tagged ${tag.includes(':') ? tag : `${tag}:latest`}\n`);
    }
    return result;
  }

  async #from(reference: string, globalArgs: ReadonlyMap<string, string>, options: BuildOptions): Promise<BuildState> {
    const name = reference.split(/\s+/)[0];
    if (name.toLowerCase() === 'scratch') throw new Fault('not-implemented', 'FROM scratch is not supported by this engine yet');
    let image = this.#images.store.find(name);
    if (!image) image = await this.#images.pull(name, { progress: () => undefined, signal: options.signal });
    const config = (await this.#images.store.config(image.id)).config ?? {};
    if (config.OnBuild?.length) throw new Fault('not-implemented', `the ONBUILD triggers of ${name} are not run by this engine yet`);
    return { image: image.id, config: structuredClone(config), args: new Map(), globalArgs, intermediates: [] };
  }

  /** Values RUN sees and substitutions use: the image's ENV, then the build's ARGs (ARG never overrides ENV). */
  #vars(state: BuildState): Map<string, string> {
    const vars = new Map(state.args);
    for (const entry of state.config.Env ?? []) {
      const eq = entry.indexOf('=');
      if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return vars;
  }

  async #runStep(state: BuildState, step: Instruction, options: BuildOptions, say: (text: string) => unknown): Promise<void> {
    const argv = execForm(step.args) ?? [...shellOf(state.config), step.args];
    const argEnv = [...state.args].filter(([key]) => !(state.config.Env ?? []).some((e) => e.startsWith(`${key}=`))).map(([k, v]) => `${k}=${v}`);
    const { Id: id } = await this.#containers.create({
      Image: state.image,
      Cmd: argv,
      Entrypoint: [''],
      Env: [...(state.config.Env ?? []), ...argEnv],
      WorkingDir: state.config.WorkingDir ?? '',
      User: state.config.User ?? '',
      HostConfig: { NetworkMode: options.networkMode === 'host' ? 'host' : 'default' },
    });
    say(` ---> Running in ${id.slice(0, 12)}\n`);
    try {
      const output = new Deframer((text) => say(text));
      const detach = this.#containers.attach(id, output, undefined, { stdin: false, stdout: true, stderr: true });
      const exited = this.#containers.wait(id, 'next-exit');
      try {
        await this.#containers.start(id);
        const code = await untilAborted(exited, options.signal);
        if (code !== 0) {
          throw new Fault('invalid-argument', `The command '${argv.join(' ')}' returned a non-zero code: ${code}`, { detail: { code } });
        }
      } finally {
        detach();
      }
      const createdBy = argEnv.length ? `|${argEnv.length} ${argEnv.join(' ')} ${argv.join(' ')}` : argv.join(' ');
      await this.#commit(state, id, createdBy);
    } finally {
      say(`Removing intermediate container ${id.slice(0, 12)}\n`);
      await this.#containers.remove(id, { force: true, volumes: true }).catch(() => undefined);
    }
  }

  async #copyStep(state: BuildState, step: Instruction, context: string): Promise<void> {
    const words = (execForm(step.args) ?? shellWords(step.args)).map((w) => substitute(w, this.#vars(state)));
    const flags = words.filter((w) => w.startsWith('--'));
    if (flags.length) throw new Fault('not-implemented', `${step.keyword} ${flags.join(' ')} is not supported by this engine yet`);
    if (words.length < 2) throw new Fault('invalid-argument', `${step.keyword} requires at least two arguments, but got ${words.length}`);
    const sources = words.slice(0, -1);
    const destination = words.at(-1)!;
    if (sources.some((s) => /^[a-z]+:\/\//i.test(s))) throw new Fault('not-implemented', `${step.keyword} from a URL is not supported by this engine yet`);
    if (sources.some((s) => /[*?[]/.test(s))) throw new Fault('not-implemented', `wildcards in ${step.keyword} are not supported by this engine yet`);
    if (sources.length > 1 && !destination.endsWith('/')) {
      throw new Fault('invalid-argument', `When using ${step.keyword} with more than one source file, the destination must be a directory and end with a /`);
    }
    const target = posix.resolve(state.config.WorkingDir || '/', destination);
    const { Id: id } = await this.#containers.create({ Image: state.image, Cmd: ['/bin/true'], Entrypoint: [''] });
    try {
      await this.#containers.withRootfs(id, async (root) => {
        for (const source of sources) {
          const from = await resolveInRoot(context, source);
          const st = await lstat(from).catch(() => undefined);
          if (!st) throw new Fault('invalid-argument', `${step.keyword} failed: file not found in build context: ${source}`);
          const targetIsDir = destination.endsWith('/') || (await lstat(await resolveInRoot(root, target)).catch(() => undefined))?.isDirectory();
          await copyIntoRoot(from, root, st.isDirectory() || !targetIsDir ? target : posix.join(target, posix.basename(source)));
        }
      });
      await this.#commit(state, id, `/bin/sh -c #(nop) ${step.keyword} ${sources.join(' ')} in ${target} `);
    } finally {
      await this.#containers.remove(id, { force: true, volumes: true }).catch(() => undefined);
    }
  }

  async #metadataStep(state: BuildState, step: Instruction, options: BuildOptions): Promise<void> {
    const vars = this.#vars(state);
    const config = state.config;
    const command = (args: string) => execForm(args) ?? [...shellOf(config), args];
    switch (step.keyword) {
      case 'ENV':
        for (const [key, raw] of keyValues(step.args, 'ENV')) {
          const value = substitute(raw, vars);
          config.Env = [...(config.Env ?? []).filter((e) => !e.startsWith(`${key}=`)), `${key}=${value}`];
          vars.set(key, value);
        }
        break;
      case 'ARG':
        for (const [key, value] of keyValues(step.args, 'ARG')) {
          const given = options.buildArgs?.[key] ?? (value ? substitute(value, vars) : state.globalArgs.get(key));
          if (given !== undefined) state.args.set(key, given);
        }
        return;
      case 'LABEL':
        config.Labels = { ...config.Labels, ...Object.fromEntries(keyValues(step.args, 'LABEL').map(([k, v]) => [substitute(k, vars), substitute(v, vars)])) };
        break;
      case 'CMD':
        config.Cmd = command(step.args);
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = command(step.args);
        break;
      case 'WORKDIR':
        config.WorkingDir = posix.resolve(config.WorkingDir || '/', substitute(step.args, vars));
        break;
      case 'USER':
        config.User = substitute(step.args, vars);
        break;
      case 'EXPOSE':
        for (const port of shellWords(substitute(step.args, vars))) config.ExposedPorts = { ...config.ExposedPorts, [port.includes('/') ? port : `${port}/tcp`]: {} };
        break;
      case 'VOLUME':
        for (const path of execForm(step.args) ?? shellWords(substitute(step.args, vars))) config.Volumes = { ...config.Volumes, [path]: {} };
        break;
      case 'STOPSIGNAL':
        config.StopSignal = substitute(step.args, vars);
        break;
      case 'ONBUILD':
        config.OnBuild = [...(config.OnBuild ?? []), step.args];
        break;
      case 'SHELL':
        config.Shell = execForm(step.args) ?? (() => { throw new Fault('invalid-argument', 'SHELL requires the arguments to be in JSON form'); })();
        break;
      case 'HEALTHCHECK':
        config.Healthcheck = parseHealthcheck(step.args, execForm);
        break;
      case 'MAINTAINER':
        break;
    }
    await this.#derive(state, `/bin/sh -c #(nop)  ${step.original}`);
  }

  async #derive(state: BuildState, createdBy: string): Promise<void> {
    state.image = await this.#images.deriveConfig(state.image, state.config, createdBy);
    state.intermediates.push(state.image);
  }

  async #commit(state: BuildState, container: string, createdBy: string): Promise<void> {
    state.image = await this.#containers.commit(container, { imageConfig: state.config, createdBy, pause: false });
    state.intermediates.push(state.image);
  }
}

/**
 * Unpacks the context tar (plain, gzip, bzip2, xz or zstd, as moby accepts) with GNU tar, which keeps members
 * inside `dir` (it strips leading `/` and `../`, refuses `..` inside names and defers symlinks that could be
 * written through). One pipeline owns the body, the decompressor and tar: its exit status is the error.
 */
async function extractContext(context: Readable, dir: string): Promise<void> {
  const tar = new FilterProcess('tar', ['-x', '-C', dir, '--no-same-owner', '-f', '-'], { name: 'tar' });
  try {
    await pipeline(context, decompressStream(), tar, new Writable({ write: (_chunk, _encoding, done) => done() }));
  } catch (err) {
    throw isFault(err, 'invalid-argument') ? new Fault('invalid-argument', `the build context is not a valid tar archive: ${err.message}`, { cause: err }) : err;
  }
}

/** The shell of shell-form commands: the Dockerfile's SHELL, else /bin/sh -c. */
function shellOf(config: ImageRuntimeConfig): string[] {
  return config.Shell?.length ? config.Shell : ['/bin/sh', '-c'];
}

/** `promise`, or a rejection as soon as the client that asked for the build goes away. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Fault('unavailable', 'the client went away'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** stdcopy frames (non-TTY attach) to text, for the build output. */
class Deframer extends Writable {
  #buffer = Buffer.alloc(0);
  #emit: (text: string) => void;

  constructor(emit: (text: string) => void) {
    super();
    this.#emit = emit;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 8) {
      const size = this.#buffer.readUInt32BE(4);
      if (this.#buffer.length < 8 + size) break;
      this.#emit(this.#buffer.subarray(8, 8 + size).toString('utf8'));
      this.#buffer = this.#buffer.subarray(8 + size);
    }
    done();
  }
}
