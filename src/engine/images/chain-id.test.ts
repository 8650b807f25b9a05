import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf } from '../../oci/digest.ts';
import { chainIds } from './chain-id.ts';

test('chainIDs follow the image spec recursion', () => {
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;
  assert.deepEqual(chainIds([a, b]), [a, digestOf(`${a} ${b}`)]);
});
