import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withTempDir } from '../../../test/support/temp.ts';
import { extractArchive, isTarArchive } from './add-archive.ts';

const sh = (cwd: string, script: string) => execFileSync('sh', ['-ec', script], { cwd, stdio: 'pipe' });

/** tree/ with a file, a nested dir, a symlink and a hardlink, owned 1234:5678, as tree.tar (GNU tar). */
function makeTree(base: string): string {
  sh(base, `
    mkdir -p tree/sub/deeper
    printf 'top\\n' > tree/top.txt
    printf 'deep\\n' > tree/sub/deeper/file
    chmod 0751 tree/sub
    chmod 0640 tree/top.txt
    ln -s top.txt tree/link
    ln tree/top.txt tree/hard
    tar --numeric-owner --owner=1234 --group=5678 --mtime=2020-02-02T00:00:00Z -cf tree.tar -C tree .
  `);
  return join(base, 'tree.tar');
}

const compressors: [string, string][] = [
  ['tar', 'cp tree.tar out'],
  ['gzip', 'gzip -c tree.tar > out'],
  ['bzip2', 'bzip2 -c tree.tar > out'],
  ['xz', 'xz -c tree.tar > out'],
  ['zstd', 'zstd -q -c tree.tar > out'],
];

test('a tar archive is recognised by its content whatever its compression, and extracted with its owners', async () => {
  await withTempDir('wharf-add-archive-', async (base) => {
    makeTree(base);
    for (const [kind, make] of compressors) {
      sh(base, make);
      const archive = join(base, 'out');
      assert.equal(await isTarArchive(archive), true, kind);
      const dest = join(base, `dest-${kind}`);
      mkdirSync(dest);
      await extractArchive(archive, dest, { label: '/dest' });
      assert.equal(readFileSync(join(dest, 'sub', 'deeper', 'file'), 'utf8'), 'deep\n', kind);
      const top = statSync(join(dest, 'top.txt'));
      assert.deepEqual([top.uid, top.gid, top.mode & 0o7777], [1234, 5678, 0o640], `${kind}: the archive's owner and mode`);
      assert.equal(top.mtime.toISOString(), '2020-02-02T00:00:00.000Z');
      assert.equal(statSync(join(dest, 'sub')).mode & 0o7777, 0o751);
      assert.equal(statSync(join(dest, 'sub')).mtime.toISOString(), '2020-02-02T00:00:00.000Z', 'directory times are set last');
      assert.equal(readlinkSync(join(dest, 'link')), 'top.txt');
      assert.equal(statSync(join(dest, 'hard')).ino, top.ino, 'a hardlink stays one');
    }
  });
});

test('--chmod overrides the modes the archive says', async () => {
  await withTempDir('wharf-add-archive-', async (base) => {
    const archive = makeTree(base);
    const dest = join(base, 'dest');
    mkdirSync(dest);
    await extractArchive(archive, dest, { label: '/dest', mode: 0o700 });
    const st = statSync(join(dest, 'sub', 'deeper', 'file'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1234, 5678, 0o700]);
    assert.equal(statSync(join(dest, 'sub')).mode & 0o7777, 0o700);
    assert.equal(lstatSync(join(dest, 'link')).uid, 1234, "a symlink's own owner");
  });
});

test('what is not a tar stays a file: text, a gzip of text, a short or empty file', async () => {
  await withTempDir('wharf-add-archive-', async (base) => {
    sh(base, `
      head -c 4096 /dev/urandom | base64 > text
      gzip -c text > text.gz
      xz -c text > text.xz
      printf 'short' > short
      : > empty
      printf 'not really gzip' | cat - text > fake.gz && printf '\\037\\213' | cat - text > bad.gz
    `);
    for (const name of ['text', 'text.gz', 'text.xz', 'short', 'empty', 'bad.gz']) assert.equal(await isTarArchive(join(base, name)), false, name);
  });
});

test('entries never leave the destination: .. is refused, planted symlinks resolve inside it', async () => {
  await withTempDir('wharf-add-archive-', async (base) => {
    sh(base, `
      mkdir -p host-etc a/x b/y c
      printf 'evil\\n' > a/evil
      tar -cPf dotdot.tar -C a --transform 's,^evil,sub/../../evil,' evil
      ln -s ${join(base, 'host-etc')} b/link
      ln -s ../../../../.. b/up
      printf 'planted\\n' > b/y/passwd
      tar -cf links.tar -C b link up
      tar -rf links.tar -C b --transform 's,^y,link,' y/passwd
      tar -rf links.tar -C b --transform 's,^y,up,' y/passwd
      tar -rPf links.tar -C b --transform 's,^y,/abs,' y/passwd
    `);
    const dest = join(base, 'dest');
    mkdirSync(dest);
    await assert.rejects(extractArchive(join(base, 'dotdot.tar'), dest, { label: '/dest' }), {
      kind: 'invalid-argument',
      message: '"sub/../../evil" is outside of "/dest"',
    });
    assert.ok(!existsSync(join(base, 'evil')));
    await extractArchive(join(base, 'links.tar'), dest, { label: '/dest' });
    assert.equal(readFileSync(join(dest, base, 'host-etc', 'passwd'), 'utf8'), 'planted\n', 'an absolute link resolves with the destination as /');
    assert.ok(!existsSync(join(base, 'host-etc', 'passwd')), 'nothing written through the link to the host');
    assert.equal(readFileSync(join(dest, 'passwd'), 'utf8'), 'planted\n', 'a link up stops at the destination');
    assert.equal(readFileSync(join(dest, 'abs', 'passwd'), 'utf8'), 'planted\n', 'an absolute name lands under the destination');
  });
});

test('a truncated or corrupt compressed archive is a clean error', async () => {
  await withTempDir('wharf-add-archive-', async (base) => {
    makeTree(base);
    sh(base, `
      head -c 100000 /dev/urandom > noise && tar -cf big.tar noise tree.tar
      gzip -c big.tar | head -c 20000 > cut.tgz
      xz -c big.tar | head -c 20000 > cut.txz
      bzip2 -c big.tar | head -c 20000 > cut.tbz
      zstd -q -c big.tar | head -c 20000 > cut.tzst
    `);
    for (const name of ['cut.tgz', 'cut.txz', 'cut.tbz', 'cut.tzst']) {
      const dest = join(base, `dest-${name}`);
      mkdirSync(dest);
      await assert.rejects(extractArchive(join(base, name), dest, { label: '/dest' }), (err: Error) => {
        assert.equal((err as { kind?: string }).kind, 'invalid-argument', `${name}: ${err.message}`);
        assert.match(err.message, /unexpected/i);
        return true;
      });
    }
  });
});

test('an archive entry replaces what is there unless both are directories', async () => {
  await withTempDir('wharf-add-archive-', async (base) => {
    const archive = makeTree(base);
    const dest = join(base, 'dest');
    mkdirSync(join(dest, 'top.txt'), { recursive: true });
    mkdirSync(join(dest, 'sub'));
    writeFileSync(join(dest, 'sub', 'kept'), 'kept\n');
    writeFileSync(join(dest, 'link'), 'old\n');
    await extractArchive(archive, dest, { label: '/dest' });
    assert.equal(readFileSync(join(dest, 'top.txt'), 'utf8'), 'top\n');
    assert.equal(readFileSync(join(dest, 'sub', 'kept'), 'utf8'), 'kept\n', 'directories merge');
    assert.ok(lstatSync(join(dest, 'link')).isSymbolicLink());
  });
});
