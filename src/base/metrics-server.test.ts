import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { createLogger } from './log.ts';
import { startMetricsServer } from './metrics-server.ts';

test('answers GET and HEAD on its path with the exposition, 404 elsewhere, 405 to other methods, and closes', async () => {
  const registry = new Registry();
  new Counter({ name: 'demo_total', help: 'a demo counter', registers: [registry] }).inc(3);
  const server = await startMetricsServer({ addr: '127.0.0.1:0', path: '/metrics', registry, logger: createLogger({ level: 'silent' }) });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const answer = await fetch(`${server.url}/metrics?x=1`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), registry.contentType);
    assert.match(await answer.text(), /^demo_total 3$/m);
    const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal((await fetch(`${server.url}/other`)).status, 404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  } finally {
    await server.close();
  }
  await assert.rejects(fetch(`${server.url}/metrics`));
});

test('a port given as :PORT binds loopback only', async () => {
  const server = await startMetricsServer({ addr: ':0', path: '/m', registry: new Registry(), logger: createLogger({ level: 'silent' }) });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:/);
  } finally {
    await server.close();
  }
});
