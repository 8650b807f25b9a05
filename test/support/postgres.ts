import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export interface Postgres {
  /** `postgres://wharf@127.0.0.1:<port>/<database>` of the database made for the caller. */
  url: string;
  port: number;
  pid: number;
  /** A new empty database on the same server, with its URL (one per test that needs a clean slate). */
  createDatabase(name: string): Promise<string>;
  close(): Promise<void>;
}

const bin = '/usr/lib/postgresql/15/bin';

/**
 * Debian's PostgreSQL 15 (package `postgresql`) as a private server: a cluster initialised in a temp dir, run
 * as the `postgres` user (the server refuses root) on a free loopback port, trust auth for the role `wharf`,
 * C collation (names and tags sort by bytes, as on SQLite). Never the host's own cluster; removed on close.
 */
export async function startPostgres(options: { database?: string } = {}): Promise<Postgres> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-postgres-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  const dataDir = join(dir, 'data');
  const asPostgres = { uid, gid, cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } };
  execFileSync(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'wharf', '--locale=C', '-E', 'UTF8', '--no-sync'], { ...asPostgres, stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await freePort();
  // fsync stays on: the stores' durability is part of what the tests exercise.
  const child: ChildProcess = spawn(join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'], {
    ...asPostgres,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const close = async () => {
    // SIGQUIT would skip the shutdown checkpoint; SIGINT is the fast shutdown, and the cluster is thrown away.
    if (!gone()) child.kill('SIGINT');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const createDatabase = async (name: string): Promise<string> => {
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a test database name: ${name}`);
    execFileSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'wharf', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    return `postgres://wharf@127.0.0.1:${port}/${name}`;
  };
  try {
    await waitFor('postgres', async () => {
      execFileSync(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      return true;
    }, 30_000, gone);
    const url = await createDatabase(options.database ?? 'wharf');
    return { url, port, pid: child.pid ?? 0, createDatabase, close };
  } catch (err) {
    await close();
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
}
