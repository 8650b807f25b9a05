import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { engineRequest, engineUpload } from '../support/engine-api.ts';
import { runOk } from '../support/run.ts';
import { buildBusyboxRootfsTar, runDocker } from './engine-harness.ts';
import { removeTestNetworking } from '../support/test-network.ts';

// Hostile and broken archives against every archive endpoint of an engine running in its own process (as
// `wharf serve` runs it), so a crash shows as the process gone. After each: the engine answers /_ping, the client
// got an answer (4xx/5xx, or success where the input is legitimately valid) and nothing appeared outside the root.

interface TarEntry {
  name: string;
  type?: 'file' | 'link' | 'symlink' | 'char' | 'dir';
  body?: Buffer;
  linkname?: string;
  /** The size the header claims, when it is not the body's. */
  claimedSize?: number;
}

const typeFlags = { file: '0', link: '1', symlink: '2', char: '3', dir: '5' } as const;

/** One ustar header, written by hand so it can say what no tar writer would (`../`, a 10 GB size over 1 KiB). */
function tarHeader(entry: TarEntry): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'latin1');
  const octal = (offset: number, length: number, value: number) => field(offset, length, value.toString(8).padStart(length - 1, '0'));
  field(0, 100, entry.name);
  octal(100, 8, entry.type === 'dir' ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  const size = entry.claimedSize ?? entry.body?.length ?? 0;
  // 12 octal digits without a terminator: how tar writes sizes of 8 GiB and more in a ustar field.
  field(124, 12, size.toString(8).padStart(size >= 8 ** 11 ? 12 : 11, '0'));
  octal(136, 12, 1_700_000_000);
  field(156, 1, typeFlags[entry.type ?? 'file']);
  field(157, 100, entry.linkname ?? '');
  field(257, 8, 'ustar\u000000');
  if (entry.type === 'char') {
    octal(329, 8, 1);
    octal(337, 8, 3);
  }
  field(148, 8, '        ');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\u0000 `);
  return header;
}

function tarOf(entries: TarEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(tarHeader(entry));
    const body = entry.body ?? Buffer.alloc(0);
    parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** 100,000 empty files, streamed to disk (about 50 MB of headers). */
async function writeManyEntries(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < count; i++) {
    if (!out.write(tarHeader({ name: `many/${Math.floor(i / 1000)}/f${i}` }))) await once(out, 'drain');
  }
  out.end(Buffer.alloc(1024));
  await once(out, 'finish');
}

type Expect = 'refused' | 'accepted' | 'either';

interface Case {
  name: string;
  file: string;
  /** What import, load and build must answer for it. */
  import: Expect;
  load: Expect;
  build: Expect;
}

describe('archive endpoints survive a corpus of broken and hostile archives', { timeout: 420_000 }, () => {
  let dir: string;
  let outside: string;
  let root: string;
  let socket: string;
  let daemon: ChildProcess;
  const cases: Case[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-corpus-'));
    outside = mkdtempSync(join(tmpdir(), 'wharf-outside-'));
    writeFileSync(join(outside, 'target'), 'host file\n');
    root = join(dir, 'root');
    socket = join(root, 'engine.sock');
    daemon = spawn(process.execPath, [join(import.meta.dirname, 'engine-daemon.ts'), root, socket], { stdio: ['ignore', 'ignore', 'inherit'] });
    for (let i = 0; !(await ping()); i++) {
      if (i > 100) throw new Error('engine daemon did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const busybox = await buildBusyboxRootfsTar(dir);
    assert.equal((await engineUpload(socket, '/images/create?fromSrc=-&repo=busybox&tag=latest', busybox)).status, 200);
    await writeCorpus();
  });

  after(async () => {
    daemon?.kill('SIGTERM');
    if (daemon && daemon.exitCode === null) await once(daemon, 'exit');
    await removeTestNetworking(root);
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const ping = () => engineRequest(socket, 'GET', '/_ping').then((a) => a.status === 200 && a.body === 'OK', () => false);

  async function writeCorpus(): Promise<void> {
    const climb = `${'../'.repeat(12)}${outside.slice(1)}`;
    const good = tarOf([
      { name: 'Dockerfile', body: Buffer.from('FROM busybox\nLABEL corpus=yes\n') },
      { name: 'hello.txt', body: Buffer.from('hello\n') },
    ]);
    const add = (name: string, bytes: Buffer, expect: Omit<Case, 'name' | 'file'>) => {
      const file = join(dir, `${cases.length}.bin`);
      writeFileSync(file, bytes);
      cases.push({ name, file, ...expect });
    };
    const valid = { import: 'accepted', load: 'refused', build: 'accepted' } as const;
    const broken = { import: 'refused', load: 'refused', build: 'refused' } as const;
    add('a plain tar', good, valid);
    add('a gzip tar', gzipSync(good), valid);
    add('a zstd tar', zstdCompressSync(good), valid);
    writeFileSync(join(dir, 'good.tar'), good);
    await runOk('bzip2', ['-k', join(dir, 'good.tar')]);
    await runOk('xz', ['-k', join(dir, 'good.tar')]);
    cases.push({ name: 'a bzip2 tar', file: join(dir, 'good.tar.bz2'), ...valid });
    cases.push({ name: 'an xz tar', file: join(dir, 'good.tar.xz'), ...valid });
    add('random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)), broken);
    add('gzipped garbage', gzipSync(Buffer.alloc(8192, 'garbage!')), broken);
    add('a truncated gzip', gzipSync(good).subarray(0, 60), broken);
    add('a truncated bzip2 stream', Buffer.from('BZh91AY&SY\u0001\u0002\u0003', 'latin1'), broken);
    add('an xz stream of garbage', Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(100, 7)]), broken);
    add('a plain tar cut inside a member', good.subarray(0, 530), broken);
    // Cut inside the padding after a whole member: Go's tar reader, dockerd's, takes that as the archive's end (the
    // docker CLI sends `-f -` contexts so), and the builder does as dockerd; import and load still refuse it.
    add('a plain tar cut in the padding after a member', good.subarray(0, 700), { ...broken, build: 'accepted' });
    add('an entry climbing out with ../', tarOf([{ name: `${climb}/dotdot`, body: Buffer.from('x') }]), { import: 'refused', load: 'refused', build: 'either' });
    add('an absolute entry', tarOf([{ name: `${outside}/absolute`, body: Buffer.from('x') }]), { import: 'accepted', load: 'refused', build: 'either' });
    add('a hardlink climbing out', tarOf([{ name: 'shadow', type: 'link', linkname: `${climb}/target` }]), { import: 'refused', load: 'refused', build: 'refused' });
    add('an absolute hardlink', tarOf([{ name: 'passwd', type: 'link', linkname: `${outside}/target` }]), { import: 'refused', load: 'refused', build: 'refused' });
    add(
      'a write through a planted symlink',
      tarOf([
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'evil/planted', body: Buffer.from('x') },
      ]),
      { import: 'refused', load: 'refused', build: 'either' },
    );
    add('a device node', tarOf([{ name: 'dev/null', type: 'char' }]), { import: 'accepted', load: 'refused', build: 'either' });
    add('a header claiming 10 GB over 1 KiB', tarOf([{ name: 'huge', body: Buffer.alloc(1024, 1), claimedSize: 10 * 1024 ** 3 }], { end: false }), broken);
    const many = join(dir, 'many.tar');
    await writeManyEntries(many, 100_000);
    cases.push({ name: '100,000 tiny entries', file: many, import: 'accepted', load: 'refused', build: 'refused' });
  }

  const endpoints = {
    import: '/images/create?fromSrc=-&repo=corpus',
    load: '/images/load?quiet=1',
    build: '/build?t=corpus-built&rm=1',
  } as const;

  async function feed(endpoint: keyof typeof endpoints, item: Case): Promise<void> {
    const answer = await engineUpload(socket, endpoints[endpoint], item.file);
    assert.equal(daemon.exitCode, null, `the engine died on ${endpoint} of ${item.name}`);
    assert.ok(await ping(), `the engine answers /_ping after ${endpoint} of ${item.name}`);
    // A JSON progress stream reports a late failure in-band, as the CLI reads it.
    const ok = answer.status === 200 && !answer.body.includes('"errorDetail"');
    const what = `${endpoint} of ${item.name}: ${answer.status} ${answer.body.slice(0, 300)}`;
    if (item[endpoint] === 'accepted') assert.ok(ok, what);
    if (item[endpoint] === 'refused') assert.ok(!ok && (answer.status >= 400 || answer.body.includes('"errorDetail"')), what);
    if (!ok && answer.status >= 400) assert.match(answer.body, /"message":".+"/, what);
    assert.deepEqual(readdirSync(outside), ['target'], `nothing written outside the root by ${what}`);
    assert.equal(statSync(join(outside, 'target')).nlink, 1, `no hardlink to a host file made by ${what}`);
  }

  for (const endpoint of ['import', 'load', 'build'] as const) {
    test(`${endpoint}: every corpus archive is answered and the engine keeps serving`, async () => {
      for (const item of cases) await feed(endpoint, item);
    });
  }

  test('docker import - (the real CLI): bzip2 and xz import as with dockerd; garbage and a truncated gzip are refused', async () => {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      DOCKER_HOST: `unix://${socket}`,
      DOCKER_CONFIG: join(dir, 'docker-config'),
      DOCKER_CLI_HINTS: 'false',
    };
    const input = (name: string) => cases.find((c) => c.name === name)!.file;
    const importFile = async (file: string, ref: string) => runDocker(['import', file, ref], env);
    for (const [name, ref] of [['a bzip2 tar', 'from-bzip2'], ['an xz tar', 'from-xz']]) {
      const imported = await importFile(input(name), ref);
      assert.equal(imported.code, 0, `${name}: ${imported.stderr}`);
      const content = await runDocker(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', ref], env);
      assert.equal(content.stdout.trim(), '1');
    }
    for (const [name, message] of [
      ['gzipped garbage', /invalid tar archive/],
      ['a truncated gzip', /Error processing tar file\(exit status 1\): unexpected EOF/],
      ['an entry climbing out with ../', /is outside of the archive root/],
      ['a hardlink climbing out', /invalid hardlink/],
    ] as const) {
      const refused = await importFile(input(name), 'refused');
      assert.notEqual(refused.code, 0, name);
      assert.match(refused.stderr, message, name);
      assert.equal(daemon.exitCode, null, `the engine died on docker import of ${name}`);
    }
    assert.equal((await runDocker(['version', '-f', '{{.Server.Version}}'], env)).code, 0, 'the engine is still up');
  });
});
