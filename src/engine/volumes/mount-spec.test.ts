import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageVolumeRequests, parseMountRequests, parseMountStruct, parseTmpfsFlag, parseVolumeFlag } from './mount-spec.ts';

test('-v splits into binds (absolute source), named volumes and anonymous volumes', () => {
  assert.deepEqual(parseVolumeFlag('/host:/ctr:ro'), { type: 'bind', source: '/host', destination: '/ctr', readonly: true, mode: 'ro', createSource: true });
  assert.deepEqual(parseVolumeFlag('data:/var/lib/db'), { type: 'volume', name: 'data', destination: '/var/lib/db', readonly: false, mode: '', nocopy: false });
  assert.deepEqual(parseVolumeFlag('/dbdata'), { type: 'volume', name: '', destination: '/dbdata', readonly: false, mode: '', nocopy: false });
  assert.deepEqual(parseVolumeFlag('data:/d:ro,nocopy'), { type: 'volume', name: 'data', destination: '/d', readonly: true, mode: 'ro,nocopy', nocopy: true });
});

test('bad -v specs are refused with moby wording', () => {
  assert.throws(() => parseVolumeFlag('data'), /invalid mount config for type "volume": invalid mount path: 'data' mount path must be absolute/);
  assert.throws(() => parseVolumeFlag('data:rel'), /invalid mount path: 'rel' mount path must be absolute/);
  assert.throws(() => parseVolumeFlag('/data:ro'), /invalid volume specification: '\/data:ro'/);
  assert.throws(() => parseVolumeFlag('./dir:/x'), /includes invalid characters for a local volume name.*use absolute path/);
  assert.throws(() => parseVolumeFlag('..:/x'), /includes invalid characters for a local volume name/);
  assert.throws(() => parseVolumeFlag('a/b:/x'), /includes invalid characters/);
  assert.throws(() => parseVolumeFlag('data:/d/..'), /destination can't be '\/'/);
  assert.throws(() => parseVolumeFlag('data:/d:bogus'), /invalid mode: bogus/);
  assert.throws(() => parseVolumeFlag('data:/d:rshared'), /invalid mode: rshared/);
  assert.throws(() => parseVolumeFlag('a:b:c:d'), /invalid volume specification/);
});

test('--mount type=volume carries nocopy, labels and the driver', () => {
  assert.deepEqual(parseMountStruct({ Type: 'volume', Target: '/d', VolumeOptions: { NoCopy: true, Labels: { a: 'b' } } }), {
    type: 'volume',
    name: '',
    destination: '/d',
    readonly: false,
    mode: '',
    nocopy: true,
    labels: { a: 'b' },
  });
  assert.throws(() => parseMountStruct({ Type: 'bind', Source: '/x', Target: '/t', VolumeOptions: {} }), /field VolumeOptions must not be specified/);
  assert.throws(() => parseMountStruct({ Type: 'volume', Source: 'x/y', Target: '/t' }), /invalid characters/);
  assert.throws(() => parseMountStruct({ Type: 'volume', Target: 't' }), /mount path must be absolute/);
  assert.throws(() => parseMountStruct({ Type: 'bogus', Target: '/t' }), /mount type unknown/);
});

test('tmpfs from --tmpfs and --mount type=tmpfs: moby’s noexec,nosuid,nodev unless overridden, size and mode', () => {
  assert.deepEqual(parseTmpfsFlag('/run/', 'exec,size=1m'), { type: 'tmpfs', destination: '/run', readonly: false, options: ['nosuid', 'nodev', 'exec', 'size=1m'] });
  assert.equal(parseTmpfsFlag('/t', 'ro').readonly, true);
  assert.deepEqual(parseMountStruct({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 65536, Mode: 0o1777 } }), {
    type: 'tmpfs',
    destination: '/t',
    readonly: false,
    options: ['noexec', 'nosuid', 'nodev', 'size=65536', 'mode=1777'],
  });
  assert.throws(() => parseTmpfsFlag('t', ''), /mount path must be absolute/);
  assert.throws(() => parseMountStruct({ Type: 'tmpfs', Source: 'x', Target: '/t' }), /field Source must not be specified/);
  assert.throws(() => parseMountRequests({ Binds: ['ab:/t'], Tmpfs: { '/t': '' } }), /Duplicate mount point: \/t/);
});

test('a destination named twice is refused; image volumes fill only the paths left free', () => {
  assert.throws(() => parseMountRequests({ Binds: ['ab:/d'], Mounts: [{ Type: 'volume', Target: '/d/' }] }), /Duplicate mount point: \/d/);
  const free = imageVolumeRequests({ '/data': {}, '/logs/': {} }, new Set(['/data']));
  assert.deepEqual(free.map((r) => r.destination), ['/logs']);
});
