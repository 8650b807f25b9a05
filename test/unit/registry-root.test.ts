import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestWharf, type TestWharf } from '../support/wharf.ts';

// registry:2 (Debian's docker-registry, measured) answers `GET /` with an empty 200 that load balancers probe, and
// any path it does not route with Go's plain-text 404; a client probing the server sees the same from wharf. With
// the UI on (hub.ui, the default) `/` is still a 200: the UI's page.
let plain: TestWharf;
let withUi: TestWharf;
before(async () => {
  plain = await startTestWharf({ parts: ['registry'], config: { hub: { ui: false } } });
  withUi = await startTestWharf({ parts: ['registry'] });
});
after(async () => {
  await plain?.close();
  await withUi?.close();
});

test('hub.ui off: GET / is an empty 200 and an unknown path a plain 404, as registry:2 answers them', async () => {
  const root = await fetch(`${plain.url}/`);
  assert.equal(root.status, 200);
  assert.equal(root.headers.get('cache-control'), 'no-cache');
  assert.equal(await root.text(), '');
  const unknown = await fetch(`${plain.url}/no/such/path`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.get('docker-distribution-api-version'), 'registry/2.0');
  assert.equal(await unknown.text(), '404 page not found\n');
});

test('hub.ui on: GET / is the UI page (a 200 a load balancer still takes), other unknown paths the same plain 404', async () => {
  const root = await fetch(`${withUi.url}/`);
  assert.equal(root.status, 200);
  assert.match(root.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await root.text(), /<div id="app">/);
  const unknown = await fetch(`${withUi.url}/no/such/path`);
  assert.equal(unknown.status, 404);
  assert.equal(await unknown.text(), '404 page not found\n');
});
