/*
 * The context a build reads, as moby's remotecontext.Detect makes it: the request body (a tar, any compression) or
 * the `remote=` URL, unpacked into a fresh directory under the engine's work dir; the Dockerfile found inside it;
 * then `.dockerignore` applied as moby's removeDockerfile does (the Dockerfile and `.dockerignore` leave the context
 * when it lists them, so `COPY .` does not copy them; nothing else is filtered, for a `remote=` context either, and a
 * malformed pattern only skips that removal). Everything made lives under one directory that dispose() removes.
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Fault, isFault } from '../../base/fault.ts';
import { cleanPath, leavesRoot } from '../../base/go-path.ts';
import { extractContextTar } from './context-tar.ts';
import { Dockerignore } from './dockerignore.ts';
import { maxDockerfileBytes, openRemoteContext } from './remote-context.ts';
import { resolveInRoot } from './scoped-copy.ts';

export interface BuildContext {
  /** The context, always `<private dir>/context`: its parent belongs to this build and dispose() removes it. */
  dir: string;
  /** Host path of the Dockerfile: read it (it may lie outside `dir` when `.dockerignore` removed it). */
  dockerfile: string;
  /** The names the body's tar had headers for (undefined for a remote context: moby's own tar of it names all). */
  members?: ReadonlySet<string>;
  dispose(): Promise<void>;
}

export interface BuildContextInput {
  body: Readable;
  /** `remote=`: a git URL or an http(s) URL of an archive or a Dockerfile; the body is then not read. */
  remote?: string;
  /** `dockerfile=`: its path inside the context. */
  dockerfile?: string;
  workDir: string;
  signal?: AbortSignal;
}

const defaultDockerfile = 'Dockerfile';

export async function openBuildContext(input: BuildContextInput): Promise<BuildContext> {
  input.signal?.throwIfAborted();
  await mkdir(input.workDir, { recursive: true });
  const top = await mkdtemp(join(input.workDir, 'context-'));
  const dispose = () => rm(top, { recursive: true, force: true });
  try {
    if (input.remote) input.body.resume();
    const source: { dir: string; dockerfile?: string; members?: ReadonlySet<string> } = input.remote
      ? await openRemoteContext(input.remote, top, input.signal)
      : await extractBody(input, top);
    const dockerfile = source.dockerfile ?? (await settleDockerfile(source.dir, top, input.dockerfile || defaultDockerfile));
    input.signal?.throwIfAborted();
    return { dir: source.dir, dockerfile, ...(source.members ? { members: source.members } : {}), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function extractBody(input: BuildContextInput, top: string): Promise<{ dir: string; members: ReadonlySet<string> }> {
  const dir = join(top, 'context');
  return { dir, members: await extractContextTar(input.body, dir, input.signal) };
}

/**
 * Finds the Dockerfile, then applies `.dockerignore` as moby's removeDockerfile: a listed Dockerfile moves out of
 * the context (still read), a listed `.dockerignore` is deleted.
 */
async function settleDockerfile(dir: string, top: string, name: string): Promise<string> {
  const found = await locateDockerfile(dir, name);
  const ignore = await readIgnore(dir);
  if (!ignore) return found.path;
  let dockerfile = found.path;
  if (ignore.matches(found.name)) {
    dockerfile = join(top, 'Dockerfile');
    await rename(found.path, dockerfile);
  }
  if (ignore.matches('.dockerignore')) await rm(await resolveInRoot(dir, '.dockerignore'), { recursive: true, force: true });
  return dockerfile;
}

/**
 * moby's withDockerfileFromContext: scoped resolution, the `dockerfile` fallback, an empty file refused; and one
 * beyond the limit a downloaded Dockerfile has, as the parser reads it whole.
 */
async function locateDockerfile(dir: string, name: string): Promise<{ path: string; name: string }> {
  if (leavesRoot(name)) throw new Fault('invalid-argument', `forbidden path outside the build context: ${name} ()`);
  const path = await resolveInRoot(dir, name);
  const st = await stat(path).catch(() => undefined);
  if (!st) {
    if (name === defaultDockerfile && (await stat(await resolveInRoot(dir, 'dockerfile')).catch(() => undefined))) {
      return locateDockerfile(dir, 'dockerfile');
    }
    throw new Fault('invalid-argument', `Cannot locate specified Dockerfile: ${name}`);
  }
  if (st.isDirectory()) throw new Fault('invalid-argument', `unexpected error reading Dockerfile: read ${name}: is a directory`);
  if (st.size === 0) throw new Fault('invalid-argument', `the Dockerfile (${name}) cannot be empty`);
  if (st.size > maxDockerfileBytes) throw new Fault('too-large', `the Dockerfile (${name}) is larger than ${maxDockerfileBytes} bytes`);
  return { path, name: cleanPath(name) };
}

/** The context's `.dockerignore`, if any; a malformed pattern makes moby skip the removal, so none is returned. */
async function readIgnore(dir: string): Promise<Dockerignore | undefined> {
  const text = await readFile(await resolveInRoot(dir, '.dockerignore'), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err.code === 'EISDIR' ? new Fault('invalid-argument', 'error reading .dockerignore: read .dockerignore: is a directory') : err;
  });
  if (text === undefined) return undefined;
  try {
    const ignore = Dockerignore.parse(text);
    return ignore.empty ? undefined : ignore;
  } catch (err) {
    if (isFault(err, 'invalid-argument')) return undefined;
    throw err;
  }
}
