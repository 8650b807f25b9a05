import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf } from './digest.ts';
import { mediaTypes } from './media-types.ts';
import { bridgeV1Chain, deriveV1Chain, selectV1Platform, type V1ChainLink } from './v1-bridge.ts';
import { deriveV1Id, emptyLayerDiffId, parseV1ImageJson, validateV1Id } from './v1-image.ts';
import { matchV1RepositoryPath, v1NameCandidates, v1Paths } from './v1-routes.ts';

const id = (c: string) => c.repeat(64);
const digest = (c: string) => `sha256:${id(c)}`;

const base: V1ChainLink = {
  json: JSON.stringify({ id: id('a'), created: '2014-01-01T00:00:00Z', container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD file in /'] }, Size: 10 }),
  layerDigest: digest('1'),
  layerSize: 10,
  diffId: digest('2'),
};
const cmdOnly: V1ChainLink = {
  json: JSON.stringify({ id: id('b'), parent: id('a'), created: '2014-01-02T00:00:00Z', container_config: { Cmd: ['/bin/sh', '-c', '#(nop) CMD [sh]'] } }),
  layerDigest: digest('5'),
  layerSize: 32,
  diffId: emptyLayerDiffId,
};
const top: V1ChainLink = {
  json: JSON.stringify({
    id: id('c'),
    parent: id('b'),
    created: '2014-01-03T00:00:00Z',
    author: 'sam',
    container_config: { Cmd: ['/bin/sh', '-c', 'echo hi > /hi'] },
    config: { Cmd: ['sh'], Env: ['A=1'] },
    docker_version: '1.3.0',
    Size: 20,
  }),
  layerDigest: digest('3'),
  layerSize: 1536,
  diffId: digest('3'),
};

test('a v1 chain bridges to a schema2 manifest and a config as docker 1.10 migrated them', () => {
  const bridged = bridgeV1Chain([base, cmdOnly, top]);
  const manifest = JSON.parse(bridged.manifest.toString());
  const config = JSON.parse(bridged.config.toString());
  assert.equal(manifest.mediaType, mediaTypes.dockerManifest);
  assert.deepEqual(manifest.config, { mediaType: mediaTypes.dockerConfig, size: bridged.config.length, digest: bridged.configDigest });
  assert.deepEqual(
    manifest.layers,
    [
      { mediaType: mediaTypes.dockerLayer, size: 10, digest: digest('1') },
      { mediaType: mediaTypes.dockerLayerUncompressed, size: 1536, digest: digest('3') },
    ],
    'the empty layer is left out; a layer pushed as a plain tar (digest = diff_id) is typed uncompressed',
  );
  assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [digest('2'), digest('3')] });
  assert.deepEqual(config.history, [
    { created: '2014-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file in /' },
    { created: '2014-01-02T00:00:00Z', created_by: '/bin/sh -c #(nop) CMD [sh]', empty_layer: true },
    { created: '2014-01-03T00:00:00Z', author: 'sam', created_by: '/bin/sh -c echo hi > /hi' },
  ]);
  assert.deepEqual(config.config, { Cmd: ['sh'], Env: ['A=1'] });
  assert.equal(config.docker_version, '1.3.0', 'image fields the v1 json had are kept');
  for (const dropped of ['id', 'parent', 'Size']) assert.equal(config[dropped], undefined, dropped);
  assert.equal(config.architecture, 'amd64');
  assert.equal(config.os, 'linux');
  assert.deepEqual(Object.keys(config), [...Object.keys(config)].sort(), 'keys sorted as Go marshals a map');
  assert.deepEqual(bridged.layers, [{ digest: digest('1'), size: 10 }, { digest: digest('3'), size: 1536 }]);
  assert.equal(bridged.manifestDigest, digestOf(bridged.manifest));
  assert.equal(bridgeV1Chain([base, cmdOnly, top]).manifestDigest, bridged.manifestDigest, 'the same chain always bridges to the same digest');
});

test('a v2 image derives a v1 chain with stable ids, the config on top and history steps below', () => {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-05-01T00:00:00Z',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [digest('d'), digest('e')] },
    history: [
      { created: '2024-04-01T00:00:00Z', created_by: 'ADD rootfs' },
      { created: '2024-04-02T00:00:00Z', created_by: 'ENV A=1', empty_layer: true },
      { created: '2024-05-01T00:00:00Z', created_by: 'RUN make' },
    ],
  };
  const layers = [
    { mediaType: mediaTypes.ociLayerGzip, digest: digest('1'), size: 100 },
    { mediaType: mediaTypes.dockerLayer, digest: digest('2'), size: 200 },
  ];
  const chain = deriveV1Chain({ configDigest: digest('f'), config, layers });
  assert.ok(chain);
  assert.deepEqual(chain.map((c) => c.id), [deriveV1Id(digest('f'), [digest('1'), digest('2')], 0), deriveV1Id(digest('f'), [digest('1'), digest('2')], 1)]);
  assert.equal(chain[1].parent, chain[0].id);
  assert.equal(chain[0].parent, undefined);
  assert.deepEqual(JSON.parse(chain[0].json), {
    id: chain[0].id,
    created: '2024-04-01T00:00:00Z',
    container_config: { Cmd: ['ADD rootfs'] },
    architecture: 'amd64',
    os: 'linux',
  });
  const topJson = JSON.parse(chain[1].json);
  assert.equal(topJson.id, chain[1].id);
  assert.equal(topJson.parent, chain[0].id);
  assert.deepEqual(topJson.config, { Cmd: ['sh'] });
  assert.equal(topJson.rootfs, undefined);
  assert.deepEqual(chain.map((c) => [c.layerDigest, c.layerSize, c.diffId]), [
    [digest('1'), 100, digest('d')],
    [digest('2'), 200, digest('e')],
  ]);
  assert.deepEqual(deriveV1Chain({ configDigest: digest('f'), config, layers }), chain, 'derivation is pure');
  assert.notEqual(deriveV1Chain({ configDigest: digest('9'), config, layers })?.[0].id, chain[0].id, 'another config, other ids');
});

test('v2 images without a v1 form derive nothing', () => {
  const config = { rootfs: { type: 'layers', diff_ids: [digest('d')] } };
  const layer = { mediaType: mediaTypes.ociLayerGzip, digest: digest('1'), size: 1 };
  assert.equal(deriveV1Chain({ configDigest: digest('f'), config, layers: [] }), undefined, 'no layers');
  assert.equal(deriveV1Chain({ configDigest: digest('f'), config, layers: [{ ...layer, mediaType: mediaTypes.ociLayerZstd }] }), undefined, 'zstd');
  assert.equal(deriveV1Chain({ configDigest: digest('f'), config, layers: [{ ...layer, mediaType: mediaTypes.ociLayerGzipEncrypted }] }), undefined);
  assert.equal(deriveV1Chain({ configDigest: digest('f'), config, layers: [layer, layer] }), undefined, 'diff_ids do not match the layers');
  assert.equal(deriveV1Chain({ configDigest: digest('f'), config: {}, layers: [layer] }), undefined, 'no rootfs');
});

test('an index stands for its linux/amd64 image, else its first image manifest', () => {
  const arm = { mediaType: mediaTypes.ociManifest, digest: digest('1'), platform: { os: 'linux', architecture: 'arm64' } };
  const amd = { mediaType: mediaTypes.ociManifest, digest: digest('2'), platform: { os: 'linux', architecture: 'amd64' } };
  const nested = { mediaType: mediaTypes.ociIndex, digest: digest('3') };
  assert.equal(selectV1Platform([arm, amd]), amd);
  assert.equal(selectV1Platform([nested, arm]), arm);
  assert.equal(selectV1Platform([nested]), undefined);
});

test('v1 ids and image json are validated', () => {
  assert.equal(validateV1Id(id('a')), id('a'));
  for (const bad of ['ABC', `${id('a')}0`, id('A'), '../../etc/passwd', '']) assert.throws(() => validateV1Id(bad), /64 lowercase hex/, bad);
  assert.throws(() => parseV1ImageJson('{', id('a')), /Invalid JSON/);
  assert.throws(() => parseV1ImageJson('[]', id('a')), /not an object/);
  assert.throws(() => parseV1ImageJson(JSON.stringify({ id: id('b') }), id('a')), /invalid id/);
  assert.throws(() => parseV1ImageJson(JSON.stringify({ id: id('a'), parent: '../x' }), id('a')), /invalid parent/);
  assert.throws(() => parseV1ImageJson(JSON.stringify({ id: id('a'), parent: id('a') }), id('a')), /own parent/);
  assert.equal(parseV1ImageJson(JSON.stringify({ id: id('a'), parent: '' }), id('a')).parent, undefined, 'an empty parent is none');
});

test('v1 repository paths and names', () => {
  assert.deepEqual(matchV1RepositoryPath('foo/bar/'), { route: 'repository', name: 'foo/bar' });
  assert.deepEqual(matchV1RepositoryPath('foo/bar/images'), { route: 'images', name: 'foo/bar' });
  assert.deepEqual(matchV1RepositoryPath('busybox/tags'), { route: 'tags', name: 'busybox' });
  assert.deepEqual(matchV1RepositoryPath('foo/bar/tags/latest'), { route: 'tag', name: 'foo/bar', tag: 'latest' });
  assert.equal(matchV1RepositoryPath(''), undefined);
  assert.deepEqual(v1NameCandidates('busybox'), ['busybox', 'library/busybox']);
  assert.deepEqual(v1NameCandidates('library/busybox'), ['busybox', 'library/busybox']);
  assert.deepEqual(v1NameCandidates('foo/bar'), ['foo/bar']);
  assert.equal(v1Paths.tag('foo/bar', 'v1'), '/v1/repositories/foo/bar/tags/v1');
  assert.equal(v1Paths.search('a b', { n: 5 }), '/v1/search?q=a+b&n=5');
});
