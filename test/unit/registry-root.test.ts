import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestWharf, type TestWharf } from '../support/wharf.ts';

// registry:2 (Debian's docker-registry, measured) answers `GET /` with an empty 200 that load balancers probe, and
// any path it does not route with Go's plain-text 404; a client probing the server sees the same from wharf.
let wharf: TestWharf;
before(async () => {
  wharf = await startTestWharf({ parts: ['registry'] });
});
after(() => wharf?.close());

test('GET / is an empty 200 and an unknown path a plain 404, as registry:2 answers them', async () => {
  const root = await fetch(`${wharf.url}/`);
  assert.equal(root.status, 200);
  assert.equal(root.headers.get('cache-control'), 'no-cache');
  assert.equal(await root.text(), '');
  const unknown = await fetch(`${wharf.url}/no/such/path`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.get('docker-distribution-api-version'), 'registry/2.0');
  assert.equal(await unknown.text(), '404 page not found\n');
});
