/*
 * The build context of an autobuild: its repository fetched at one commit into a fresh directory, then `git
 * archive` of `<commit>:<context>` as a tar stream. Git runs with no system or user config, no hooks, no terminal
 * prompt, and only the transports an autobuild may name (file, http, https, git, ssh), so a repository or a
 * server can neither run code here nor hang the build waiting for credentials.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import { killGroupOnAbort } from '../../base/kill-group-on-abort.ts';

export const gitSchemes = ['file', 'http', 'https', 'git', 'ssh'] as const;

/** How much of git's stderr an error keeps (the end says why). */
const outputLimit = 8 * 1024;
const commitPattern = /^[0-9a-f]{40}$/;

/** Refuses a URL an autobuild may not fetch (another scheme, scp-like `host:path`, credentials in it). */
export function validateGitUrl(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (!scheme || !(gitSchemes as readonly string[]).includes(scheme) || !URL.canParse(url)) {
    throw new Fault('invalid-argument', `git URL ${JSON.stringify(url)}: give a URL with one of the schemes ${gitSchemes.join(', ')} (scp-like host:path is not accepted: use ssh://host/path)`);
  }
  const parsed = new URL(url);
  // Tokens hide in the user part (https://ghp_x@github.com/...): only ssh names a user, and never a password.
  if (parsed.password || (parsed.username && scheme !== 'ssh')) {
    throw new Fault('invalid-argument', 'git URL: credentials in the URL would be stored and shown; use a public URL, or ssh://user@host/path with a deploy key');
  }
  // ssh and git's transports would read a leading '-' as an option.
  if (parsed.hostname.startsWith('-') || decodeURIComponent(parsed.username).startsWith('-')) {
    throw new Fault('invalid-argument', `git URL ${JSON.stringify(url)}: a host or user may not start with '-'`);
  }
  return url;
}

/** The URL without its user part (ssh's), for callers who may not push to the repository. */
export function redactGitUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** A branch name git itself would accept (a subset: no leading '-', no '..', no '@{', no control characters). */
export function validateBranch(ref: string): string {
  const ok = /^[A-Za-z0-9._/-]{1,255}$/.test(ref) && !ref.startsWith('-') && !ref.startsWith('/') && !ref.endsWith('/') && !ref.endsWith('.lock') && !ref.includes('..') && !ref.includes('//');
  if (!ok) throw new Fault('invalid-argument', `ref ${JSON.stringify(ref)} is not a branch name`);
  return ref;
}

/** A path inside the repository (the context, the Dockerfile): relative, never leaving it. */
export function validateRepoPath(path: string, what: string): string {
  const normal = posix.normalize(path);
  if (path === '' || posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../') || path.includes('\0')) {
    throw new Fault('invalid-argument', `${what} ${JSON.stringify(path)} must be a relative path inside the repository`);
  }
  return normal.replace(/\/+$/, '') || '.';
}

export function validateCommit(commit: string): string {
  if (!commitPattern.test(commit)) throw new Fault('invalid-argument', `commit ${JSON.stringify(commit)} is not 40 hex digits`);
  return commit;
}

export interface FetchOptions {
  url: string;
  ref: string;
  /** The commit to build; else the branch's head. */
  commit?: string;
  signal?: AbortSignal;
}

/** Fetches the commit (or the branch's head) into the empty directory `dir`; answers the commit fetched. */
export async function fetchCommit(dir: string, options: FetchOptions): Promise<string> {
  const git = (args: string[]) => runGit(dir, args, options.signal);
  await git(['init', '--quiet', '--bare']);
  const branch = `refs/heads/${validateBranch(options.ref)}`;
  if (options.commit) {
    // Protocol v2 serves any reachable commit by its id; a server that refuses (or a commit no longer on the
    // branch's tip) is tried once more through the branch with some history.
    const byId = await git(['fetch', '--quiet', '--no-tags', '--depth', '1', '--', options.url, validateCommit(options.commit)]).then(() => true, () => false);
    if (!byId) await fetchShallow(git, options.url, branch, '50');
    await git(['rev-parse', '--verify', '--quiet', `${options.commit}^{commit}`]).catch(() => {
      throw new Fault('failed-precondition', `commit ${options.commit} is not on ${options.ref} of ${options.url} (or the server would not send it)`);
    });
    return options.commit;
  }
  await fetchShallow(git, options.url, branch, '1');
  return (await git(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'])).trim();
}

/** A shallow fetch; a dumb HTTP server cannot do shallow, so then the whole branch. */
async function fetchShallow(git: (args: string[]) => Promise<string>, url: string, branch: string, depth: string): Promise<void> {
  await git(['fetch', '--quiet', '--no-tags', '--depth', depth, '--', url, branch]).catch(async (err: unknown) => {
    if (!(err instanceof Fault) || !/shallow/i.test(err.message)) throw err;
    await git(['fetch', '--quiet', '--no-tags', '--', url, branch]);
  });
}

/**
 * `git archive` of `<commit>:<context>` (tar): the stream to send, and `done`, which settles once git exited
 * (rejecting with its stderr when it failed, e.g. a context that is not a directory of the commit).
 */
export function archiveContext(dir: string, commit: string, context: string, signal?: AbortSignal): { stream: Readable; done: Promise<void> } {
  const tree = context === '.' ? commit : `${commit}:${context}`;
  const child = spawnGit(dir, ['archive', '--format=tar', tree], signal);
  const done = settled(child, `git archive ${tree}`).catch((err: unknown) => {
    // The reader went away (the engine refused the build): its error is the one to report, not git's SIGPIPE.
    if (child.signalCode === 'SIGPIPE') return;
    throw err;
  });
  return { stream: child.stdout as Readable, done };
}

function runGit(dir: string, args: string[], signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const child = spawnGit(dir, args, signal);
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  return settled(child, `git ${args[0]}`).then(() => stdout);
}

const transports = gitSchemes.flatMap((scheme) => ['-c', `protocol.${scheme}.allow=always`]);

function spawnGit(dir: string, args: string[], signal?: AbortSignal): ChildProcess {
  const child = spawn('git', ['-c', 'protocol.allow=never', ...transports, '-c', 'core.hooksPath=/dev/null', '-c', 'credential.helper=', ...args], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: '/bin/false',
      SSH_ASKPASS: '/bin/false',
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new',
      LANG: 'C',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so an abort also ends its helpers (git-remote-http, index-pack, ssh).
    detached: true,
  });
  killGroupOnAbort(child, signal);
  return child;
}

/** Resolves when the command exits 0; else a Fault carrying the end of its stderr. */
function settled(child: ChildProcess, what: string): Promise<void> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-outputLimit); });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Fault('unavailable', `${what}: ${err.message}`, { cause: err })));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Fault('failed-precondition', `${what} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}
