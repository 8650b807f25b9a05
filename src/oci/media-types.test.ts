import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf } from './digest.ts';
import {
  bareMediaType,
  emptyJsonDigest,
  emptyJsonSize,
  isEncryptedLayerMediaType,
  isIndexMediaType,
  isLayerMediaType,
  isManifestMediaType,
  isWellFormedMediaType,
  mediaTypes,
} from './media-types.ts';

test('the four manifest kinds are manifest types; configs and layers are not', () => {
  for (const type of [mediaTypes.ociManifest, mediaTypes.ociIndex, mediaTypes.dockerManifest, mediaTypes.dockerManifestList]) {
    assert.ok(isManifestMediaType(type), type);
  }
  for (const type of [mediaTypes.ociConfig, mediaTypes.dockerConfig, mediaTypes.ociLayerGzip, mediaTypes.dockerManifestV1Signed, 'application/json']) {
    assert.ok(!isManifestMediaType(type), type);
  }
  assert.ok(isIndexMediaType(mediaTypes.ociIndex) && isIndexMediaType(mediaTypes.dockerManifestList));
  assert.ok(!isIndexMediaType(mediaTypes.ociManifest));
});

test('layer types cover plain, gzip, zstd, non-distributable, Docker and encrypted variants', () => {
  for (const type of [mediaTypes.ociLayer, mediaTypes.ociLayerGzip, mediaTypes.ociLayerZstd, mediaTypes.dockerLayer, mediaTypes.ociLayerNondistributableGzip]) {
    assert.ok(isLayerMediaType(type), type);
    assert.ok(!isEncryptedLayerMediaType(type), type);
  }
  for (const type of [mediaTypes.ociLayerEncrypted, mediaTypes.ociLayerGzipEncrypted, mediaTypes.ociLayerZstdEncrypted]) {
    assert.ok(isLayerMediaType(type) && isEncryptedLayerMediaType(type), type);
  }
});

test('the empty descriptor constants describe `{}`', () => {
  assert.equal(emptyJsonDigest, digestOf('{}'));
  assert.equal(emptyJsonSize, 2);
  assert.equal(mediaTypes.ociEmpty, 'application/vnd.oci.empty.v1+json');
});

test('media types are checked for RFC 6838 shape and compared without parameters', () => {
  for (const ok of [mediaTypes.ociManifest, 'application/vnd.example+json', 'text/plain']) assert.ok(isWellFormedMediaType(ok), ok);
  for (const bad of ['', 'x', 'text/', '/plain', 'text/plain; charset=utf-8', 'a/b/c', 'a b/c']) assert.ok(!isWellFormedMediaType(bad), bad);
  assert.equal(bareMediaType(' Application/JSON ; charset=utf-8'), 'application/json');
  assert.equal(bareMediaType(mediaTypes.ociIndex), mediaTypes.ociIndex);
});
