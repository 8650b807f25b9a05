import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { pack, type Header } from 'tar-stream';
import { runOk } from '../../../test/support/run.ts';
import { getXattrs, setXattr } from '../../../test/support/xattrs.ts';
import { isFault } from '../../base/fault.ts';
import { applyLayerTar } from './layer-apply.ts';

/** A layer tar of `entries` (bodies as strings), as a stream. */
function layer(entries: (Partial<Header> & { name: string; body?: string })[]): Readable {
  const tar = pack();
  for (const { body, ...header } of entries) tar.entry(header, body ?? '');
  tar.finalize();
  return tar as unknown as Readable;
}

describe('applying a hostile layer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-layer-apply-'));
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'host secret\n');
  let n = 0;
  const fresh = () => {
    const root = join(dir, `root-${n++}`);
    mkdirSync(root);
    return root;
  };
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a hardlink that climbs out is refused with moby’s wording', async () => {
    const refused = applyLayerTar(layer([{ name: 'a', type: 'link', linkname: '../../outside/secret' }]), { root: fresh(), lowers: [] });
    await assert.rejects(refused, (err) => isFault(err, 'invalid-argument') && /invalid hardlink "a" -> "..\/..\/outside\/secret"/.test(err.message));
  });

  test('absolute names and absolute hardlinks stay inside the root', async () => {
    const root = fresh();
    await applyLayerTar(layer([{ name: `${outside}/planted`, body: 'x' }, { name: 'link', type: 'link', linkname: `${outside}/planted` }]), { root, lowers: [] });
    assert.equal(readFileSync(join(root, outside.slice(1), 'planted'), 'utf8'), 'x');
    assert.equal(readFileSync(join(root, 'link'), 'utf8'), 'x');
    assert.ok(!existsSync(join(outside, 'planted')));
  });

  test('a hardlink to a lower layer’s file is not followed through a symlinked directory of that layer', async () => {
    const lower = fresh();
    symlinkSync(outside, join(lower, 'd'));
    const root = fresh();
    const refused = applyLayerTar(layer([{ name: 'copy', type: 'link', linkname: 'd/secret' }]), { root, lowers: [lower] });
    await assert.rejects(refused, (err) => isFault(err, 'invalid-argument'));
    assert.ok(!existsSync(join(root, 'copy')));
  });

  test('a header that claims more than the archive holds is an invalid archive, not a hang', async () => {
    const header = Buffer.alloc(512);
    header.write('huge', 0);
    header.write('0000644\0', 100);
    header.write((10 * 1024 ** 3).toString(8).padStart(12, '0'), 124);
    header.write('0', 156);
    header.write('ustar\u000000', 257, 'latin1');
    header.write('        ', 148);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const refused = applyLayerTar(Readable.from([header, Buffer.alloc(4096, 1)]), { root: fresh(), lowers: [] });
    await assert.rejects(refused, (err) => isFault(err, 'invalid-argument') && err.message === 'unexpected EOF');
  });
});

/** VFS_CAP_REVISION_2 with cap_net_raw and cap_setuid permitted and effective (0x80 is not UTF-8 on its own). */
const capability = '0100000280200000000000000000000000000000';

describe('applying a layer’s extended attributes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-layer-xattrs-'));
  let n = 0;
  const fresh = () => {
    const root = join(dir, `root-${n++}`);
    mkdirSync(root);
    return root;
  };
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('GNU tar’s SCHILY.xattr records land on files, directories and symlinks, binary values intact', async () => {
    const source = fresh();
    mkdirSync(join(source, 'bin'));
    writeFileSync(join(source, 'bin/ping'), 'ping');
    symlinkSync('ping', join(source, 'bin/link'));
    await setXattr(join(source, 'bin/ping'), 'user.foo', Buffer.from('bar').toString('hex'));
    await setXattr(join(source, 'bin/ping'), 'security.capability', capability);
    await setXattr(join(source, 'bin'), 'user.dir', '00ff');
    await setXattr(join(source, 'bin/link'), 'trusted.link', '01');
    const tarFile = join(dir, 'gnu.tar');
    await runOk('tar', ['--xattrs', '--xattrs-include=*', '-C', source, '-cf', tarFile, 'bin']);
    const root = fresh();
    // The file is owned by someone else: the chown must come before the capability, which a chown drops.
    const { ignoredXattrs } = await applyLayerTar(createReadStream(tarFile), { root, lowers: [], owner: { uid: 1000, gid: 1000 } });
    assert.deepEqual(await getXattrs(join(root, 'bin/ping')), { 'security.capability': capability, 'user.foo': '626172' });
    assert.deepEqual(await getXattrs(join(root, 'bin')), { 'user.dir': '00ff' });
    assert.deepEqual(await getXattrs(join(root, 'bin/link')), { 'trusted.link': '01' });
    assert.deepEqual(ignoredXattrs, []);
  });

  test('libarchive’s LIBARCHIVE.xattr records (escaped name, base64 value) are read too', async () => {
    const root = fresh();
    const pax = { 'LIBARCHIVE.xattr.user.a%2Eb': Buffer.from([0, 0xfe, 1]).toString('base64') };
    await applyLayerTar(layer([{ name: 'f', body: 'x', pax }]), { root, lowers: [] });
    assert.deepEqual(await getXattrs(join(root, 'f')), { 'user.a.b': '00fe01' });
  });

  test('a user.* attribute on a symlink, which the kernel refuses (EPERM), is skipped and reported, as moby skips it', async () => {
    const root = fresh();
    const { ignoredXattrs } = await applyLayerTar(layer([{ name: 'l', type: 'symlink', linkname: 'x', pax: { 'SCHILY.xattr.user.x': '1' } }]), { root, lowers: [] });
    assert.equal(ignoredXattrs.length, 1);
    assert.match(ignoredXattrs[0], /setting extended attribute "user.x" on .*\/l: Operation not permitted/);
  });

  test('an entry that replaces an earlier one of the same layer does not inherit its attributes', async () => {
    const root = fresh();
    await applyLayerTar(layer([{ name: 'f', body: 'old', pax: { 'SCHILY.xattr.user.old': '1' } }, { name: 'f', body: 'new' }]), { root, lowers: [] });
    assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'new');
    assert.deepEqual(await getXattrs(join(root, 'f')), {});
  });

  // Refused, not dropped: overlayfs would read trusted.overlay.* as its own marks (an opaque directory, a redirect to
  // another layer's files), and a layer that carries them was made wrongly or to forge them; dropping them would
  // change what the image shows without a word.
  test('overlayfs’s own trusted.overlay.* and names outside user, security and trusted are refused', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'SCHILY.xattr.trusted.overlay.opaque': 'y' }, /invalid tar entry "d\/": extended attribute "trusted.overlay.opaque" belongs to overlayfs/],
      [{ 'SCHILY.xattr.system.posix_acl_access': 'x' }, /extended attribute "system.posix_acl_access" is not in the user, security or trusted namespace/],
      [{ 'SCHILY.xattr.user.': 'x' }, /extended attribute "user." is not in the user, security or trusted namespace/],
      [{ 'LIBARCHIVE.xattr.user.%zz': 'eA==' }, /invalid tar archive: bad PAX record name "LIBARCHIVE.xattr.user.%zz"/],
    ];
    for (const [pax, message] of cases) {
      const root = fresh();
      const refused = applyLayerTar(layer([{ name: 'd/', type: 'directory', pax }]), { root, lowers: [join(dir, 'below')] });
      await assert.rejects(refused, (err) => isFault(err, 'invalid-argument') && message.test(err.message));
      assert.deepEqual(await getXattrs(root), {});
    }
  });
});
