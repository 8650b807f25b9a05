/*
 * A git build context as moby makes one (builder/remotecontext/git): `git init`, add the remote as origin, fetch the
 * one ref (shallow unless the server is a dumb HTTP one), check it out by name or else FETCH_HEAD, update submodules
 * (shallow where the server can), and use `#ref:subdir` as the context when the fragment names one. Git runs with
 * the user's and the system's config ignored, `file://` submodules refused and no terminal prompt, so a repository
 * cannot reach the host's files or hang the build waiting for credentials.
 */
import { spawn } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { Fault } from '../../base/fault.ts';
import { killGroupOnAbort } from '../../base/kill-group-on-abort.ts';
import { leavesRoot } from '../../base/go-path.ts';
import { resolveInRoot } from './scoped-copy.ts';

export interface GitRemote {
  /** The repository's address without the fragment. */
  remote: string;
  ref: string;
  subdir: string;
}

/** How much of git's output an error keeps (the end says why). */
const outputLimit = 16 * 1024;

/** moby's parseRemoteURL: a bare `github.com/…` gets https, `git@…` is not a URL, the fragment is `ref:subdir`. */
export function parseGitRemote(address: string): GitRemote {
  const withScheme = isGitTransport(address) ? address : `https://${address}`;
  const hash = withScheme.indexOf('#');
  const remote = hash < 0 ? withScheme : withScheme.slice(0, hash);
  let fragment = hash < 0 ? '' : withScheme.slice(hash + 1);
  if (!withScheme.startsWith('git@')) {
    if (!URL.canParse(remote)) throw new Fault('invalid-argument', `parse "${address}": invalid URL`);
    fragment = decodeFragment(fragment);
  }
  const colon = fragment.indexOf(':');
  const ref = (colon < 0 ? fragment : fragment.slice(0, colon)) || 'master';
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  if (ref.startsWith('-')) throw new Fault('invalid-argument', `invalid refspec: ${ref}`);
  return { remote, ref, subdir };
}

/** Clones `address` into `root` (a fresh directory) and returns the context directory inside it. */
export async function cloneGitContext(address: string, root: string, signal?: AbortSignal): Promise<string> {
  const repo = parseGitRemote(address);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const git = (args: string[]) => runGit(root, args, signal);
  await git(['init']).catch(wrap(`failed to init repo at ${root}`));
  await git(['remote', 'add', 'origin', repo.remote]).catch(wrap(`failed add origin repo at ${repo.remote}`));
  const depth = (await supportsShallowClone(repo.remote, signal)) ? ['--depth', '1'] : [];
  await git(['fetch', ...depth, 'origin', '--', repo.ref]).catch(wrap('error fetching'));
  await git(['checkout', repo.ref]).catch(async (err: unknown) => {
    await git(['checkout', 'FETCH_HEAD']).catch(() => wrap(`error checking out ${repo.ref}`)(err));
  });
  await updateSubmodules(git).catch(wrap('error initializing submodules'));
  return repo.subdir ? subdirOf(root, repo.subdir) : root;
}

/** Shallow as moby asks; a submodule on a dumb HTTP server cannot be fetched shallow, so then in full. */
async function updateSubmodules(git: (args: string[]) => Promise<string>): Promise<void> {
  const update = ['submodule', 'update', '--init', '--recursive'];
  await git([...update, '--depth=1']).catch((err: unknown) => {
    if (err instanceof GitFailure && err.output.includes('does not support shallow')) return git(update);
    throw err;
  });
}

/** The subdirectory named by the fragment, resolved inside the clone (symlinks too), as moby's checkout. */
async function subdirOf(root: string, subdir: string): Promise<string> {
  const relative = posix.normalize(subdir);
  if (leavesRoot(relative)) {
    throw new Fault('invalid-argument', `error setting git context, "${subdir}" not within git root`);
  }
  const dir = await resolveInRoot(root, relative);
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new Fault('invalid-argument', `stat ${subdir}: no such file or directory`);
  if (!st.isDirectory()) throw new Fault('invalid-argument', `error setting git context, not a directory: ${subdir}`);
  return dir;
}

/** A smart HTTP server answers the upload-pack advertisement; a dumb one (static files) cannot do shallow fetches. */
async function supportsShallowClone(remote: string, signal?: AbortSignal): Promise<boolean> {
  const scheme = URL.canParse(remote) ? new URL(remote).protocol : '';
  if (scheme !== 'http:' && scheme !== 'https:') return true;
  const url = `${remote}/info/refs?service=git-upload-pack`;
  for (const method of ['HEAD', 'GET']) {
    const res = await fetch(url, { method, signal }).catch(() => undefined);
    await res?.body?.cancel().catch(() => undefined);
    if (res?.ok) return res.headers.get('content-type') === 'application/x-git-upload-pack-advertisement';
  }
  return false;
}

function isGitTransport(address: string): boolean {
  if (address.startsWith('git@')) return true;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(address)?.[1]?.toLowerCase();
  return scheme === 'git' || scheme === 'http' || scheme === 'https' || scheme === 'ssh';
}

function decodeFragment(fragment: string): string {
  try {
    return decodeURIComponent(fragment);
  } catch {
    throw new Fault('invalid-argument', `invalid URL escape in fragment "${fragment}"`);
  }
}

/** moby's errors.Wrapf(err, "<what>: %s", output) over a failed git command. */
function wrap(what: string): (err: unknown) => never {
  return (err) => {
    if (!(err instanceof GitFailure)) throw err;
    throw new Fault('invalid-argument', `${what}: ${err.output}: ${err.message}`, { cause: err });
  };
}

class GitFailure extends Error {
  readonly output: string;

  constructor(message: string, output: string) {
    super(message);
    this.output = output;
  }
}

const gitEnv = { GIT_PROTOCOL_FROM_USER: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: '/dev/null', GIT_TERMINAL_PROMPT: '0' };

/**
 * One git command in `dir`; its combined output (the tail) goes with a failure. git runs in a process group of its
 * own so an abort kills its helpers too (git-remote-http, index-pack), and settles only once they all let go of
 * the output pipes, so the caller's cleanup never races a writer.
 */
function runGit(dir: string, args: string[], signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-c', 'protocol.file.allow=never', ...args], {
      cwd: dir,
      env: { ...process.env, ...gitEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    killGroupOnAbort(child, signal);
    let output = '';
    const collect = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-outputLimit));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (err) => reject(new Fault('unavailable', `git could not start: ${err.message}`, { cause: err })));
    child.once('close', (code, killedBy) => {
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve(output);
      reject(new GitFailure(code === null ? `signal: ${killedBy}` : `exit status ${code}`, output));
    });
  });
}
