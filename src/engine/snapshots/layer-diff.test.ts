import assert from 'node:assert/strict';
import { chmodSync, createReadStream, createWriteStream, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import tar from 'tar-stream';
import { runOk } from '../../../test/support/run.ts';
import { getXattrs, setXattr } from '../../../test/support/xattrs.ts';
import { applyLayerTar } from './layer-apply.ts';
import { diffLayerTar, listChanges } from './layer-diff.ts';

/** VFS_CAP_REVISION_2 with cap_net_raw and cap_setuid permitted and effective (0x80 is not UTF-8 on its own). */
const capability = '0100000280200000000000000000000000000000';

describe('a layer diff’s extended attributes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-layer-diff-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const long = `${'n'.repeat(90)}/${'é'.repeat(60)}`;

  const source = join(dir, 'upper');
  const tarFile = join(dir, 'layer.tar');
  test('are written as SCHILY.xattr records, overlayfs’s own left out', async () => {
    mkdirSync(join(source, 'd'), { recursive: true });
    mkdirSync(join(source, long.split('/')[0]));
    writeFileSync(join(source, 'd/f'), 'content');
    linkSync(join(source, 'd/f'), join(source, 'd/g'));
    writeFileSync(join(source, long), 'long');
    symlinkSync('d/f', join(source, 's'));
    await setXattr(join(source, 'd'), 'user.d', '64');
    await setXattr(join(source, 'd/f'), 'user.wharf', '31');
    await setXattr(join(source, 'd/f'), 'security.capability', capability);
    await setXattr(join(source, 'd/f'), 'trusted.keep', '00');
    await setXattr(join(source, 'd/f'), 'trusted.overlay.origin', '00fb');
    await setXattr(join(source, long), 'user.long', 'ff00');
    await setXattr(join(source, 's'), 'trusted.s', '73');
    await pipeline(diffLayerTar(source, { hasLowers: false }), createWriteStream(tarFile));
  });

  const expectations = (root: string) => async () => {
    const file = { 'security.capability': capability, 'trusted.keep': '00', 'user.wharf': '31' };
    assert.deepEqual(await getXattrs(join(root, 'd/f')), file);
    assert.deepEqual(await getXattrs(join(root, 'd/g')), file);
    assert.deepEqual(await getXattrs(join(root, 'd')), { 'user.d': '64' });
    assert.deepEqual(await getXattrs(join(root, 's')), { 'trusted.s': '73' });
    assert.deepEqual(await getXattrs(join(root, long)), { 'user.long': 'ff00' });
    assert.equal(readFileSync(join(root, long), 'utf8'), 'long');
  };

  test('and read back by layer-apply', async () => {
    const root = join(dir, 'applied');
    mkdirSync(root);
    await applyLayerTar(createReadStream(tarFile), { root, lowers: [] });
    await expectations(root)();
  });

  test('and by GNU tar, with the long names of the PAX header', async () => {
    const root = join(dir, 'gnu');
    mkdirSync(root);
    await runOk('tar', ['--xattrs', '--xattrs-include=*', '-C', root, '-xf', tarFile]);
    await expectations(root)();
  });
});

describe('a container’s layer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-layer-omit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function entries(root: string, omit: ReadonlySet<string>): Promise<string[]> {
    const out: string[] = [];
    const extract = tar.extract();
    extract.on('entry', (h, stream, next) => {
      out.push(`${h.name} ${(h.mode ?? 0).toString(8)}`);
      stream.on('end', next);
      stream.resume();
    });
    await pipeline(diffLayerTar(root, { hasLowers: true, omit }), extract);
    return out;
  }

  test('leaves out the paths it is told to (the runtime’s mount points), with moby’s header modes', async () => {
    const upper = join(dir, 'upper');
    mkdirSync(join(upper, 'etc'), { recursive: true });
    mkdirSync(join(upper, 'tmp'));
    writeFileSync(join(upper, 'etc/hosts'), '');
    writeFileSync(join(upper, 'tmp/x'), 'x');
    chmodSync(join(upper, 'etc'), 0o755);
    chmodSync(join(upper, 'tmp'), 0o1777);
    chmodSync(join(upper, 'tmp/x'), 0o644);
    assert.deepEqual(await entries(upper, new Set(['/etc', '/etc/hosts'])), ['tmp/ 41777', 'tmp/x 100644']);
  });

  test('marks a directory whose own mode changed against the layer below', async () => {
    const lower = join(dir, 'lower');
    const upper = join(dir, 'upper2');
    for (const root of [lower, upper]) mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(lower, 'var'));
    mkdirSync(join(upper, 'var'));
    chmodSync(join(lower, 'etc'), 0o755);
    chmodSync(join(upper, 'etc'), 0o700);
    chmodSync(join(lower, 'var'), 0o755);
    chmodSync(join(upper, 'var'), 0o755);
    assert.deepEqual(await listChanges(upper, [lower]), [
      { path: '/etc', kind: 'modified', ownChange: true },
      { path: '/var', kind: 'modified' },
    ]);
  });
});
