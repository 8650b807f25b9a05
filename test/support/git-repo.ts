import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { freePort, waitFor } from './ports.ts';
import { runOk } from './run.ts';

const gitEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'wharf test',
  GIT_AUTHOR_EMAIL: 'test@wharf.invalid',
  GIT_COMMITTER_NAME: 'wharf test',
  GIT_COMMITTER_EMAIL: 'test@wharf.invalid',
};

export interface GitRepo {
  dir: string;
  /** Writes the files (path -> content) on `branch` (default main) and commits them; answers the commit. */
  commit(files: Record<string, string>, branch?: string): Promise<string>;
}

/** A git repository (Debian `git`) in `dir` with branch `main`, for tests that fetch from it (file://, git daemon). */
export async function makeGitRepo(dir: string): Promise<GitRepo> {
  mkdirSync(dir, { recursive: true });
  const git = (args: string[]) => runOk('git', ['-C', dir, ...args], { env: gitEnv });
  await git(['init', '--quiet', '--initial-branch=main']);
  return {
    dir,
    commit: async (files, branch = 'main') => {
      const current = (await git(['symbolic-ref', '--short', 'HEAD'])).trim();
      if (current !== branch) await git(['checkout', '--quiet', '-B', branch]);
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      await git(['add', '--all']);
      await git(['commit', '--quiet', '--allow-empty', '-m', `commit ${Object.keys(files).join(', ')}`]);
      return (await git(['rev-parse', 'HEAD'])).trim();
    },
  };
}

export interface GitDaemon {
  /** `git://127.0.0.1:PORT/` */
  url: string;
  close(): Promise<void>;
}

/** `git daemon` serving every repository under `base` read-only on a free loopback port. */
export async function startGitDaemon(base: string): Promise<GitDaemon> {
  const port = await freePort();
  const child: ChildProcess = spawn('git', ['daemon', '--export-all', `--base-path=${base}`, `--port=${port}`, '--listen=127.0.0.1', '--reuseaddr', base], {
    env: gitEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  await waitFor('git daemon', () => new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    }).once('error', () => resolve(false));
  }), 15_000, gone);
  return {
    url: `git://127.0.0.1:${port}/`,
    close: async () => {
      if (!gone()) child.kill('SIGTERM');
      await exited;
    },
  };
}
