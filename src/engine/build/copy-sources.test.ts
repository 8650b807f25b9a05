import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../../../test/support/temp.ts';
import { type CopySpec, normalizeDest, prepareCopy } from './copy-sources.ts';

interface Fixture {
  base: string;
  context: string;
  root: string;
  /** Runs one COPY/ADD from the context into the root and returns what prepareCopy said. */
  copy(sources: string[], destination: string, more?: Partial<CopySpec>): Promise<{ checksum: string; describe: string }>;
}

/** A context (files, a directory, symlinks pointing out) and a container root with /etc/passwd and /etc/group. */
async function withFixture(work: (f: Fixture) => Promise<void>): Promise<void> {
  await withTempDir('wharf-copy-sources-', async (base) => {
    const context = join(base, 'context');
    const root = join(base, 'root');
    const scratch = join(base, 'scratch');
    mkdirSync(join(context, 'dir', 'sub'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(scratch);
    writeFileSync(join(context, 'a.txt'), 'a\n');
    writeFileSync(join(context, 'b.txt'), 'bb\n');
    writeFileSync(join(context, 'dir', 'x'), 'x\n');
    writeFileSync(join(context, 'dir', 'sub', 'y'), 'y\n');
    symlinkSync('sub/y', join(context, 'dir', 'link'));
    chmodSync(join(context, 'dir'), 0o750);
    chmodSync(join(context, 'b.txt'), 0o755);
    chownSync(join(context, 'a.txt'), 1000, 1000);
    symlinkSync('/etc', join(context, 'etc-out'));
    symlinkSync('../../../..', join(context, 'up-out'));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\n');
    const copy: Fixture['copy'] = async (sources, destination, more = {}) => {
      const spec: CopySpec = { keyword: 'COPY', sources, destination, workdir: '/', from: context, fromContext: true, scratchDir: scratch, ...more };
      const prepared = await prepareCopy(spec);
      try {
        await prepared.apply(root);
      } finally {
        await prepared.dispose();
      }
      return { checksum: prepared.checksum, describe: prepared.describe };
    };
    await work({ base, context, root, copy });
  });
}

const owner = (path: string) => {
  const st = lstatSync(path);
  return [st.uid, st.gid, st.mode & 0o7777];
};

test('a file goes to the destination path, or into it when it is a directory or ends in /', async () => {
  await withFixture(async ({ root, context, copy }) => {
    await copy(['a.txt'], '/new-file');
    assert.equal(readFileSync(join(root, 'new-file'), 'utf8'), 'a\n', 'a destination that does not exist and has no / is the file');
    await copy(['a.txt'], '/d/');
    assert.equal(readFileSync(join(root, 'd', 'a.txt'), 'utf8'), 'a\n');
    await copy(['b.txt'], '/d');
    assert.deepEqual(owner(join(root, 'd', 'b.txt')), [0, 0, 0o755], 'into an existing directory; root-owned; mode kept');
    await copy(['a.txt'], 'rel/', { workdir: '/work' });
    assert.deepEqual(owner(join(root, 'work', 'rel', 'a.txt')), [0, 0, 0o644], 'relative to the workdir; owner 0:0 whatever the source');
    assert.deepEqual(owner(join(root, 'work')), [0, 0, 0o755]);
    assert.equal(statSync(join(root, 'd', 'a.txt')).mtimeMs, Math.floor(statSync(join(context, 'a.txt')).mtimeMs / 1000) * 1000, 'mtime kept, to the second as a tar header has it');
  });
});

test('a directory source copies its contents; an existing destination directory keeps its own mode', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['dir'], '/out');
    assert.deepEqual(readdirSync(join(root, 'out')).sort(), ['link', 'sub', 'x']);
    assert.equal(readFileSync(join(root, 'out', 'sub', 'y'), 'utf8'), 'y\n');
    assert.equal(lstatSync(join(root, 'out', 'link')).isSymbolicLink(), true, 'a symlink inside is copied as one');
    assert.deepEqual(owner(join(root, 'out')), [0, 0, 0o755], 'a new destination directory is 0755');
    mkdirSync(join(root, 'kept'), { mode: 0o700 });
    chownSync(join(root, 'kept'), 5, 5);
    await copy(['dir/'], '/kept/');
    assert.deepEqual(owner(join(root, 'kept')), [5, 5, 0o700]);
    assert.equal(readFileSync(join(root, 'kept', 'x'), 'utf8'), 'x\n');
    await copy(['.'], '/all/');
    assert.ok(existsSync(join(root, 'all', 'dir', 'sub', 'y')), 'the context root copies its contents');
  });
});

test('wildcards match per path element; several sources need a destination ending in /', async () => {
  await withFixture(async ({ root, copy }) => {
    const { describe } = await copy(['*.txt'], '/w/');
    assert.deepEqual(readdirSync(join(root, 'w')).sort(), ['a.txt', 'b.txt']);
    assert.match(describe, /^multi:[0-9a-f]{64} in \/w\/$/);
    await copy(['d?r/s*/[xy]'], '/one');
    assert.equal(readFileSync(join(root, 'one'), 'utf8'), 'y\n', 'one match may go to a file path');
    await assert.rejects(copy(['*.txt'], '/w'), {
      message: 'When using COPY with more than one source file, the destination must be a directory and end with a /',
    });
    await assert.rejects(copy(['a.txt', 'b.txt'], '/w'), /the destination must be a directory and end with a \//);
    await assert.rejects(copy(['*.none'], '/w/'), { message: 'COPY failed: no source files were specified' });
    await assert.rejects(copy(['missing.txt'], '/w/'), {
      kind: 'not-found',
      message: 'COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist',
    });
    await assert.rejects(copy(['./dir/none'], '/w/', { keyword: 'ADD' }), /^Fault: ADD failed: file not found .*: stat dir\/none: file does not exist$/);
  });
});

test('sources never leave the context, destinations never leave the root', async () => {
  await withFixture(async ({ base, root, copy }) => {
    await copy(['../../a.txt'], '/e1');
    await copy(['/b.txt'], '/e2');
    await copy(['up-out/a.txt'], '/e3');
    for (const [name, text] of [['e1', 'a\n'], ['e2', 'bb\n'], ['e3', 'a\n']]) assert.equal(readFileSync(join(root, name!), 'utf8'), text);
    await assert.rejects(copy(['etc-out/passwd'], '/e4'), /stat etc-out\/passwd: file does not exist/, "the host's /etc is not the context's");
    const hostDir = join(base, 'host-dir');
    mkdirSync(hostDir);
    symlinkSync(hostDir, join(root, 'app'));
    symlinkSync('../../../../..', join(root, 'up'));
    await copy(['a.txt', 'dir'], '/app/');
    await copy(['b.txt'], '/up/tmp/b');
    assert.deepEqual(readdirSync(hostDir), [], 'nothing written to the host through the image\'s symlink');
    assert.equal(readFileSync(join(root, hostDir, 'a.txt'), 'utf8'), 'a\n');
    assert.equal(readFileSync(join(root, 'tmp', 'b'), 'utf8'), 'bb\n');
  });
});

test('--chown resolves names from the root, --chmod sets files and directories', async () => {
  await withFixture(async ({ root, copy }) => {
    await copy(['dir', 'a.txt'], '/o/', { chown: 'app:staff', chmod: '0705' });
    assert.deepEqual(owner(join(root, 'o', 'sub')), [1000, 50, 0o705]);
    assert.deepEqual(owner(join(root, 'o', 'sub', 'y')), [1000, 50, 0o705]);
    assert.deepEqual(owner(join(root, 'o', 'a.txt')), [1000, 50, 0o705]);
    assert.deepEqual(owner(join(root, 'o', 'link')).slice(0, 2), [1000, 50]);
    await copy(['a.txt'], '/n/deep/f', { chown: '7' });
    assert.deepEqual(owner(join(root, 'n')), [7, 7, 0o755], 'new parents of a file get the owner too');
    await assert.rejects(copy(['a.txt'], '/z', { chown: 'ghost' }), /can't find uid for user ghost: no such user: ghost/);
    await assert.rejects(copy(['a.txt'], '/z', { chmod: '0999' }), /invalid chmod parameter: 0999/);
  });
});

test('COPY --from resolves inside the source root, keeps owners without --chown', async () => {
  await withFixture(async ({ base, root, copy }) => {
    const stage = join(base, 'stage');
    mkdirSync(join(stage, 'opt', 'v1', 'bin'), { recursive: true });
    writeFileSync(join(stage, 'opt', 'v1', 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    chownSync(join(stage, 'opt', 'v1', 'bin', 'tool'), 33, 34);
    symlinkSync('/opt/v1', join(stage, 'opt', 'current'));
    const from = { from: stage, fromContext: false };
    await copy(['/opt/current/bin/tool'], '/usr/local/bin/', from);
    assert.deepEqual(owner(join(root, 'usr', 'local', 'bin', 'tool')), [33, 34, 0o755]);
    await copy(['/opt/current/bin/tool'], '/t2', { ...from, chown: '0:0' });
    assert.deepEqual(owner(join(root, 't2')), [0, 0, 0o755]);
    await copy(['/opt/*/bin/tool'], '/t3', from);
    assert.ok(existsSync(join(root, 't3')), 'wildcards walk the source root (the link is not followed)');
    await assert.rejects(copy(['/nope'], '/x', from), { message: 'COPY failed: stat nope: file does not exist' });
    writeFileSync(join(stage, 'p'), 'p\n', { mode: 0o644 });
    const header = 'namepmode33188uid0gid0size2typeflag0linknameunamerootgnamerootdevmajor0devminor0';
    assert.equal((await copy(['p'], '/p', from)).describe, `file:${createHash('sha256').update(`${header}p\n`).digest('hex')} in /p`,
      'a rootfs is hashed as moby stats it: type bits in the mode, the host\'s names (as dockerd 20.10 does)');
  });
});

test('the checksum covers names, content, mode, owner and flags but not mtimes; describe is moby\'s', async () => {
  await withFixture(async ({ context, copy }) => {
    const first = await copy(['a.txt'], '/dst');
    const header = 'namea.txtmode420uid1000gid1000size2typeflag0linknameunamegnamedevmajor0devminor0';
    assert.equal(first.describe, `file:${createHash('sha256').update(`${header}a\n`).digest('hex')} in /dst`, 'tarsum v1 of the file');
    utimesSync(join(context, 'a.txt'), new Date(1), new Date(1));
    assert.deepEqual(await copy(['a.txt'], '/dst'), first, 'touching a file keeps the cache');
    const dir = await copy(['dir'], '/dd/');
    assert.match(dir.describe, /^dir:[0-9a-f]{64} in \/dd\/$/);
    utimesSync(join(context, 'dir', 'sub', 'y'), new Date(1), new Date(1));
    assert.equal((await copy(['dir'], '/dd/')).checksum, dir.checksum);
    const changes: [string, () => void][] = [
      ['a byte', () => writeFileSync(join(context, 'dir', 'sub', 'y'), 'z\n')],
      ['a mode', () => chmodSync(join(context, 'dir', 'x'), 0o600)],
      ['an owner', () => chownSync(join(context, 'dir', 'x'), 3, 3)],
      ['a name', () => execFileSync('mv', [join(context, 'dir', 'x'), join(context, 'dir', 'x2')])],
      ['a link target', () => execFileSync('ln', ['-sfn', 'x2', join(context, 'dir', 'link')])],
    ];
    const seen = new Set([dir.checksum]);
    for (const [what, change] of changes) {
      change();
      const next = await copy(['dir'], '/dd/');
      assert.ok(!seen.has(next.checksum), `changing ${what} misses the cache`);
      seen.add(next.checksum);
    }
    const plain = await copy(['a.txt'], '/f');
    const chowned = await copy(['a.txt'], '/f', { chown: '1:1' });
    const chmodded = await copy(['a.txt'], '/f', { chmod: '600' });
    assert.equal(new Set([plain.checksum, chowned.checksum, chmodded.checksum]).size, 3, 'the flags are part of the key');
    assert.equal(chowned.describe, plain.describe, 'E1 adds --chown to the history text itself');
    assert.notEqual((await copy(['a.txt'], '/g')).checksum, plain.checksum, 'so is the destination');
  });
});

test('ADD extracts a local archive (told by content) into the destination; COPY copies it', async () => {
  await withFixture(async ({ base, context, root, copy }) => {
    execFileSync('sh', ['-ec', `
      mkdir -p ${base}/t/pkg && printf 'p\\n' > ${base}/t/pkg/p
      tar --numeric-owner --owner=1234 --group=99 -cf - -C ${base}/t pkg | xz -c > ${context}/release.bin
    `]);
    await copy(['release.bin'], '/x', { keyword: 'ADD' });
    assert.deepEqual(owner(join(root, 'x', 'pkg', 'p')), [1234, 99, 0o644], 'extracted into /x with the archive\'s owners');
    await copy(['release.bin'], '/y/', { keyword: 'ADD', chown: '5:5' });
    assert.deepEqual(owner(join(root, 'y', 'pkg', 'p')).slice(0, 2), [1234, 99], 'moby\'s untar ignores --chown');
    assert.deepEqual(owner(join(root, 'y')).slice(0, 2), [0, 0]);
    await copy(['release.bin'], '/z/');
    assert.ok(statSync(join(root, 'z', 'release.bin')).isFile(), 'COPY never extracts');
    await copy(['a.txt'], '/w/', { keyword: 'ADD' });
    assert.equal(readFileSync(join(root, 'w', 'a.txt'), 'utf8'), 'a\n', 'a file that is no archive is copied');
  });
});

test('destinations are normalised against the workdir as moby does', () => {
  assert.equal(normalizeDest('/app', '.'), '/app');
  assert.equal(normalizeDest('/app', './'), '/app/');
  assert.equal(normalizeDest('', 'x/'), '/x/');
  assert.equal(normalizeDest('/app', '../etc/f'), '/etc/f');
  assert.equal(normalizeDest('/app', '/abs'), '/abs');
});
