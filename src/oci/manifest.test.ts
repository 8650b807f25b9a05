import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFault } from '../base/fault.ts';
import { digestOf } from './digest.ts';
import { parseManifest, resolveArtifactType } from './manifest.ts';
import { emptyJsonDigest, mediaTypes } from './media-types.ts';

const config = { mediaType: mediaTypes.ociConfig, digest: digestOf('config'), size: 6 };
const layer = { mediaType: mediaTypes.ociLayerGzip, digest: digestOf('layer'), size: 5 };
const empty = { mediaType: mediaTypes.ociEmpty, digest: emptyJsonDigest, size: 2 };

function bytes(json: unknown): Buffer {
  return Buffer.from(JSON.stringify(json));
}

function rejects(body: Uint8Array, contentType: string | undefined, pattern: RegExp): void {
  assert.throws(
    () => parseManifest(body, contentType),
    (err: unknown) => isFault(err, 'invalid-argument') && err.code === 'MANIFEST_INVALID' && pattern.test(err.message),
  );
}

test('an OCI image manifest lists its config and layers as the blobs to hold', () => {
  const parsed = parseManifest(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [layer] }), mediaTypes.ociManifest);
  assert.equal(parsed.kind, 'image');
  assert.equal(parsed.mediaType, mediaTypes.ociManifest);
  assert.deepEqual(parsed.blobs.map((b) => b.digest), [config.digest, layer.digest]);
  assert.deepEqual(parsed.layers.map((b) => b.digest), [layer.digest]);
  assert.deepEqual(parsed.manifests, []);
  assert.equal(parsed.artifactType, mediaTypes.ociConfig, 'distribution-spec: artifactType falls back to config.mediaType');
});

test('Docker schema 2 manifests and lists parse; foreign layers with urls are not required blobs', () => {
  const foreign = { mediaType: mediaTypes.dockerForeignLayer, digest: digestOf('win'), size: 3, urls: ['https://example.com/l'] };
  const docker = parseManifest(
    bytes({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config: { ...config, mediaType: mediaTypes.dockerConfig }, layers: [layer, foreign] }),
    mediaTypes.dockerManifest,
  );
  assert.deepEqual(docker.blobs.map((b) => b.digest), [config.digest, layer.digest]);
  assert.equal(docker.layers.length, 2);
  const child = { mediaType: mediaTypes.dockerManifest, digest: digestOf('child'), size: 10, platform: { architecture: 'amd64', os: 'linux' } };
  const list = parseManifest(bytes({ schemaVersion: 2, mediaType: mediaTypes.dockerManifestList, manifests: [child] }), mediaTypes.dockerManifestList);
  assert.equal(list.kind, 'index');
  assert.deepEqual(list.manifests.map((m) => m.digest), [child.digest]);
  assert.deepEqual(list.blobs, []);
});

test('artifactType: the manifest own, else the config type, never the empty config', () => {
  const sbom = parseManifest(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, artifactType: 'application/vnd.example.sbom', config: empty, layers: [] }));
  assert.equal(sbom.artifactType, 'application/vnd.example.sbom');
  const helm = parseManifest(bytes({ schemaVersion: 2, config: { ...config, mediaType: 'application/vnd.cncf.helm.config.v1+json' }, layers: [] }));
  assert.equal(helm.artifactType, 'application/vnd.cncf.helm.config.v1+json');
  assert.equal(resolveArtifactType(undefined, mediaTypes.ociEmpty), undefined);
  const index = parseManifest(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, artifactType: 'application/vnd.example.bundle', manifests: [] }));
  assert.equal(index.artifactType, 'application/vnd.example.bundle');
});

test('subject and annotations are kept', () => {
  const subject = { mediaType: mediaTypes.ociManifest, digest: digestOf('subject'), size: 100 };
  const parsed = parseManifest(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: empty, layers: [], subject, annotations: { a: 'b' } }));
  assert.equal(parsed.subject?.digest, subject.digest);
  assert.deepEqual(parsed.annotations, { a: 'b' });
});

test('an OCI body without mediaType takes its kind from the Content-Type or its shape', () => {
  assert.equal(parseManifest(bytes({ schemaVersion: 2, manifests: [] })).mediaType, mediaTypes.ociIndex);
  assert.equal(parseManifest(bytes({ schemaVersion: 2, config, layers: [] })).mediaType, mediaTypes.ociManifest);
  assert.equal(parseManifest(bytes({ schemaVersion: 2, config, layers: [] }), 'application/json').mediaType, mediaTypes.ociManifest);
  assert.equal(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), `${mediaTypes.ociIndex}; charset=utf-8`).mediaType, mediaTypes.ociIndex);
});

test('malformed JSON, wrong shapes and bad descriptors are MANIFEST_INVALID', () => {
  rejects(Buffer.from('{nope'), undefined, /not valid JSON/);
  rejects(Buffer.from('[1]'), undefined, /JSON object/);
  rejects(Buffer.from('"str"'), undefined, /JSON object/);
  rejects(bytes({ schemaVersion: 3, config, layers: [] }), undefined, /schemaVersion/);
  rejects(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, layers: [] }), undefined, /config/);
  rejects(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { ...config, digest: 'sha256:abc' }, layers: [] }), undefined, /config\.digest/);
  rejects(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { ...config, size: -1 }, layers: [] }), undefined, /config\.size/);
  rejects(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { ...config, mediaType: 'nonsense' }, layers: [] }), undefined, /mediaType/);
  rejects(bytes({ schemaVersion: 2, mediaType: 7, config, layers: [] }), undefined, /must be a string/);
  rejects(bytes({ schemaVersion: 2 }), undefined, /neither config nor manifests/);
});

test('a manifest that is also an index (or the reverse) is refused', () => {
  rejects(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [], manifests: [] }), undefined, /must not have manifests/);
  rejects(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [], layers: [] }), undefined, /must not have layers/);
  rejects(bytes({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [], config }), undefined, /must not have a config/);
});

test('media types: unknown, schema 1, disagreeing with Content-Type, or missing on a Docker body', () => {
  const image = { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [] };
  rejects(bytes(image), mediaTypes.ociIndex, /does not match/);
  rejects(bytes(image), 'text/plain', /not a supported manifest media type/);
  rejects(bytes({ ...image, mediaType: 'text/plain' }), undefined, /not a supported manifest media type/);
  rejects(bytes({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }), mediaTypes.dockerManifestV1Signed, /schema 1/);
  rejects(bytes({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }), undefined, /schema 1/);
  rejects(bytes({ schemaVersion: 2, config, layers: [] }), mediaTypes.dockerManifest, /must carry its mediaType/);
});
