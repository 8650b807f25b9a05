import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './ports.ts';
import { waitGone } from './processes.ts';

const run = promisify(execFile);

export interface CephS3 {
  /** radosgw's S3 endpoint, `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The host name radosgw serves virtual-host buckets under (`<bucket>.<dnsName>:<port>`). */
  dnsName: string;
  region: string;
  accessKey: string;
  secretKey: string;
  /** A bucket made for the caller. */
  bucket: string;
  /** Another empty bucket, for a test that needs a clean slate. */
  createBucket(name: string): Promise<void>;
  /** Milliseconds from the call to radosgw answering with the bucket made. */
  startMs: number;
  close(): Promise<void>;
}

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * A real single-node Ceph 16 (Debian `ceph-mon`, `ceph-osd`, `radosgw`) as the S3 server of the tests: its own
 * fsid, ceph.conf and data in a temp dir, one monitor on a free loopback port, one OSD on memstore (the data
 * lives in the OSD's memory: nothing to format, and gone on close), pools of size 1, radosgw (beast) on a
 * free loopback port, a user made by radosgw-admin and a bucket. Every command gets `-c <temp>/ceph.conf`, so
 * /etc/ceph and /var/lib/ceph are never read or written; cephx is off (loopback only, thrown away).
 * Everything started is stopped and the dir removed on close.
 */
export async function startCephS3(options: { bucket?: string } = {}): Promise<CephS3> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'wharf-ceph-'));
  const daemons: Daemon[] = [];
  const close = async () => {
    // Reverse order: radosgw, then the OSD, then the monitor they report to.
    for (const daemon of [...daemons].reverse()) await stop(daemon);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const monPort = await freePort();
    const rgwPort = await freePort();
    const conf = join(dir, 'ceph.conf');
    const fsid = randomUUID();
    writeFileSync(conf, cephConf(dir, fsid, monPort, rgwPort));
    for (const sub of ['mon', 'osd', 'rgw', 'run', 'log']) mkdirSync(join(dir, sub));
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]);
    daemons.push(spawnDaemon(dir, 'mon', 'ceph-mon', ['-c', conf, '-f', '-i', 'a']));
    const osdUuid = randomUUID();
    const id = (await run('ceph', ['-c', conf, '--connect-timeout', '30', 'osd', 'new', osdUuid])).stdout.trim();
    mkdirSync(join(dir, 'osd', `ceph-${id}`), { recursive: true });
    await run('ceph-osd', ['-c', conf, '-i', id, '--mkfs', '--osd-uuid', osdUuid]);
    daemons.push(spawnDaemon(dir, 'osd', 'ceph-osd', ['-c', conf, '-f', '-i', id]));
    const rgw = spawnDaemon(dir, 'rgw', 'radosgw', ['-c', conf, '-f', '-n', 'client.rgw']);
    daemons.push(rgw);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitFor('radosgw', async () => (await fetch(endpoint)).ok, 120_000, () => daemons.some(gone));
    const accessKey = randomBytes(10).toString('hex').toUpperCase();
    const secretKey = randomBytes(20).toString('base64url');
    await run('radosgw-admin', ['-c', conf, '-n', 'client.admin', 'user', 'create', '--uid=wharf', '--display-name=wharf',
      `--access-key=${accessKey}`, `--secret-key=${secretKey}`]);
    const createBucket = (name: string) => s3CreateBucket(endpoint, name, accessKey, secretKey);
    const bucket = options.bucket ?? 'wharf-test';
    await createBucket(bucket);
    return { endpoint, dnsName: 'localhost', region: 'us-east-1', accessKey, secretKey, bucket, createBucket, startMs: Date.now() - started, close };
  } catch (err) {
    const logs = logTails(dir);
    await close();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
keyring = /dev/null
run dir = ${dir}/run
admin socket = ${dir}/run/$cluster-$name.asok
pid file = ${dir}/run/$cluster-$name.pid
log file = ${dir}/log/$cluster-$name.log
crash dir = ${dir}/crash
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
rgw data = ${dir}/rgw/$cluster-$id
mon data avail warn = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = ${6 * 1024 ** 3}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw dns name = localhost
rgw thread pool size = 64
# Deleted objects' data is freed at once (the default waits two hours): memstore holds it in memory.
rgw gc obj min wait = 0
rgw gc processor period = 10
`;
}

function spawnDaemon(dir: string, name: string, command: string, args: string[]): Daemon {
  const child = spawn('/bin/sh', ['-c', `exec "$0" "$@" >>"${join(dir, 'log', `${name}.out`)}" 2>&1`, command, ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { name, child, exited };
}

function gone(daemon: Daemon): boolean {
  return daemon.child.exitCode !== null || daemon.child.signalCode !== null;
}

async function stop(daemon: Daemon): Promise<void> {
  if (gone(daemon)) return;
  daemon.child.kill('SIGTERM');
  const pid = daemon.child.pid ?? 0;
  if (!(await waitGone(pid, 10_000))) daemon.child.kill('SIGKILL');
  await daemon.exited;
}

function logTails(dir: string): string {
  return ['mon', 'osd', 'rgw']
    .map((name) => {
      try {
        return `--- ${name}\n${readFileSync(join(dir, 'log', `${name}.out`), 'utf8').slice(-2000)}`;
      } catch {
        return '';
      }
    })
    .join('\n');
}

async function s3CreateBucket(endpoint: string, name: string, accessKeyId: string, secretAccessKey: string): Promise<void> {
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
}
