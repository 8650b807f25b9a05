import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mediaTypes } from '../../oci/media-types.ts';
import { acceptsManifest, matchesEtag } from './negotiation.ts';

test('OCI manifests are withheld only from an Accept list that names neither them nor a wildcard', () => {
  assert.ok(acceptsManifest(undefined, mediaTypes.ociManifest));
  assert.ok(acceptsManifest('', mediaTypes.ociIndex));
  assert.ok(acceptsManifest(`${mediaTypes.dockerManifest}, ${mediaTypes.ociManifest}; q=0.5`, mediaTypes.ociManifest));
  assert.ok(acceptsManifest('*/*', mediaTypes.ociIndex));
  assert.ok(acceptsManifest('application/*', mediaTypes.ociIndex));
  assert.ok(!acceptsManifest(mediaTypes.dockerManifest, mediaTypes.ociManifest));
  assert.ok(!acceptsManifest(`${mediaTypes.ociManifest}`, mediaTypes.ociIndex));
});

test('Docker manifests are always answered: there is no schema 1 to convert to', () => {
  assert.ok(acceptsManifest(mediaTypes.ociManifest, mediaTypes.dockerManifest));
  assert.ok(acceptsManifest('application/json', mediaTypes.dockerManifestList));
});

test('If-None-Match matches the quoted digest, a weak tag, a list or *', () => {
  const digest = 'sha256:abc';
  assert.ok(matchesEtag(`"${digest}"`, digest));
  assert.ok(matchesEtag(`W/"${digest}"`, digest));
  assert.ok(matchesEtag(`"other", "${digest}"`, digest));
  assert.ok(matchesEtag('*', digest));
  assert.ok(!matchesEtag('"other"', digest));
  assert.ok(!matchesEtag(undefined, digest));
});
