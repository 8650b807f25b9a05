import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { importBusybox } from '../support/busybox.ts';
import { dockerCli, type Dockerd, startDockerd } from '../support/dockerd.ts';
import { runOk } from '../support/run.ts';
import { ok, same, type Side, sidesOf } from '../support/side-by-side.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

// Issue 12: what wharf's archives and commits hold, side by side with a private dockerd 20.10: a commit's layer
// (moby keeps the runtime's mount points in an init layer, so they never reach an image), the tar headers of
// export, cp and save (Go's FileInfoHeader modes, file type bits included), and the answer to a cut archive.

/** One tar entry as compared: name, type and mode in octal (type bits included). */
type Entry = string;

function entriesOf(bytes: Buffer): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const extract = tar.extract();
    const out: Entry[] = [];
    extract.on('entry', (h, stream, next) => {
      out.push(`${h.name} ${h.type} ${(h.mode ?? 0).toString(8)}`);
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', () => resolve(out));
    extract.on('error', reject);
    extract.end(bytes);
  });
}

/** The files of `docker <args>`'s stdout tar, bodies kept (test archives are a few MB). */
async function tarFiles(side: Side, args: string[]): Promise<Map<string, { header: tar.Header; body: Buffer }>> {
  const child = spawn(dockerCli, args, { env: side.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  const files = new Map<string, { header: tar.Header; body: Buffer }>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      files.set(header.name, { header, body: Buffer.concat(chunks) });
      next();
    });
  });
  const finished = once(extract, 'finish');
  child.stdout.pipe(extract);
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0, `${side.name}: docker ${args.join(' ')}: ${Buffer.concat(stderr)}`);
  await finished;
  return files;
}

/** The entries of `docker <args>`'s tar, headers only. */
async function tarEntries(side: Side, args: string[]): Promise<Entry[]> {
  const files = await tarFiles(side, args);
  return [...files.values()].map(({ header: h }) => `${h.name} ${h.type} ${(h.mode ?? 0).toString(8)}`);
}

/** The entries of an image's top layer as `docker save` writes it (either engine's archive layout). */
async function topLayer(side: Side, image: string): Promise<Entry[]> {
  const files = await tarFiles(side, ['save', image]);
  const [manifest] = JSON.parse(files.get('manifest.json')!.body.toString('utf8')) as { Layers: string[] }[];
  return entriesOf(files.get(manifest.Layers.at(-1)!)!.body);
}

describe('archives and commits as dockerd 20.10 makes them', { timeout: 600_000 }, () => {
  let engine: TestEngine;
  let dockerd: Dockerd;
  let sides: Side[];
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-archive-fidelity-'));
    [engine, dockerd] = await Promise.all([startTestEngineWithBusybox(['-c', 'CMD ["sh"]']), startDockerd()]);
    await importBusybox(dockerd, 'busybox');
    sides = sidesOf(engine, dockerd);
  });

  after(async () => {
    await Promise.all([dockerd?.stop(), engine?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The top layer of a commit of a container that ran `script`. */
  const committed = (script: string) => async (side: Side) => {
    const name = `c${Math.random().toString(36).slice(2, 8)}`;
    await ok(side, 'run', '--name', name, '--network', 'none', 'busybox', 'sh', '-c', script);
    await ok(side, 'commit', name, `${name}:img`);
    return topLayer(side, `${name}:img`);
  };

  test('docker commit: the layer holds what the container wrote, none of the runtime’s mount points', async () => {
    await same(sides, committed('echo hi > /tmp/x'), ['tmp/ directory 41777', 'tmp/x file 100644']);
  });

  test('docker commit: a write through the /etc/hosts mount is lost, a file beside it and /etc’s own change stay', async () => {
    await same(sides, committed('echo 10.0.0.9 extra >> /etc/hosts; echo motd > /etc/motd'), ['etc/ directory 40755', 'etc/motd file 100644']);
    await same(sides, committed('echo 10.0.0.9 extra >> /etc/hosts; chmod 700 /etc'), ['etc/ directory 40700']);
  });

  test('docker commit of a container that changed nothing but /etc/hosts: no layer, an empty_layer history entry', async () => {
    await same(sides, async (side) => {
      const name = `e${side.name}`;
      await ok(side, 'run', '--name', name, '--network', 'none', 'busybox', 'sh', '-c', 'echo 10.0.0.9 extra >> /etc/hosts');
      await ok(side, 'commit', name, 'empty:img');
      const layers = async (image: string) => JSON.parse(await ok(side, 'image', 'inspect', '-f', '{{json .RootFS.Layers}}', image));
      assert.deepEqual(await layers('empty:img'), await layers('busybox'), side.name);
      return (await ok(side, 'history', '--format', '{{.Size}}', 'empty:img')).split('\n')[0];
    }, '0B');
  });

  test('docker export, docker cp and docker save: header modes carry the file type bits', async () => {
    const script = 'echo hi > /tmp/x; ln -s x /tmp/l; mkfifo /tmp/f; mkdir /tmp/d; ln /tmp/x /tmp/h';
    const imageFiles = /^(bin\/(busybox|sh)|etc\/passwd|etc\/|tmp\/.*)$/;
    const made = new Map<string, string>();
    const create = async (side: Side) => {
      const name = `m${side.name}`;
      await ok(side, 'run', '--name', name, '--network', 'none', 'busybox', 'sh', '-c', script);
      made.set(side.name, name);
    };
    await Promise.all(sides.map(create));
    // moby walks names in order, so of two hardlinks `h` comes first and `x` is the link to it.
    const expectedTmp = ['tmp/ directory 41777', 'tmp/d/ directory 40755', 'tmp/f fifo 10644', 'tmp/h file 100644', 'tmp/l symlink 120777', 'tmp/x link 100644'];
    const exported = await same(sides, async (side) => (await tarEntries(side, ['export', made.get(side.name)!])).filter((e) => imageFiles.test(e.split(' ')[0])).sort());
    for (const entry of ['bin/busybox file 100755', 'bin/sh symlink 120777', 'etc/ directory 40755', 'etc/passwd file 100644', ...expectedTmp]) {
      assert.ok(exported.includes(entry), `${entry} in ${exported.join(', ')}`);
    }
    await same(sides, async (side) => (await tarEntries(side, ['cp', `${made.get(side.name)}:/tmp`, '-'])).sort(), expectedTmp);
    await same(sides, async (side) => {
      await ok(side, 'commit', made.get(side.name)!, 'modes:img');
      return (await topLayer(side, 'modes:img')).sort();
    }, expectedTmp);
  });

  test('a cut archive: docker load and docker import answer as dockerd, whatever the compression', async () => {
    const source = join(dir, 'src');
    mkdirSync(join(source, 'd'), { recursive: true });
    writeFileSync(join(source, 'd/random'), randomBytes(600_000));
    writeFileSync(join(source, 'small'), 'small\n');
    const plain = join(dir, 'cut.tar');
    await runOk('tar', ['-C', source, '-cf', plain, '.']);
    await runOk('gzip', ['-k', plain]);
    // bzip2 -1: blocks of 100 kB, so the cut leaves whole blocks before it and the tar reader sees a cut entry.
    await runOk('sh', ['-c', `bzip2 -1 -c "${plain}" > "${plain}.bz2"`]);
    await runOk('xz', ['-k', plain]);
    const eof = 'Error processing tar file(exit status 1): unexpected EOF';
    for (const file of [plain, `${plain}.gz`, `${plain}.bz2`, `${plain}.xz`]) {
      const whole = readFileSync(file);
      const cut = whole.subarray(0, Math.floor(whole.length / 2));
      const answer = (...args: string[]) => async (side: Side) => {
        const result = await side.docker(args, { input: cut, timeoutMs: 120_000 });
        return { code: result.code, stderr: result.stderr.trim() };
      };
      await same(sides, answer('load'), { code: 1, stderr: eof });
      await same(sides, answer('import', '-', 'cut:img'), { code: 1, stderr: `Error response from daemon: ${eof}` });
    }
  });
});
