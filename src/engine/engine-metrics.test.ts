import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { metricValue, scrapeMetrics } from '../../test/support/prometheus-text.ts';
import { createLogger } from '../base/log.ts';
import { Router } from './api/router.ts';
import type { ContainerStatus } from './containers/container-record.ts';
import { startEngineMetrics } from './engine-metrics.ts';

test('containers by state (every state present), images and Engine API requests by route name', async () => {
  const states: ContainerStatus[] = ['running', 'exited', 'exited', 'created'];
  const router = new Router([{ name: 'container-inspect', method: 'GET', path: '/containers/{id}/json', handle: async () => ({ status: 200, json: {} }) }]);
  const api = createServer((req, res) => {
    res.statusCode = req.url?.includes('missing') ? 404 : 200;
    res.end('{}');
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  const metrics = await startEngineMetrics({ addr: '127.0.0.1:0', containerStates: () => states, imageCount: () => 7, api, router, logger: createLogger({ level: 'silent' }) });
  try {
    await fetch(`${apiUrl}/v1.44/containers/abc/json`).then((r) => r.text());
    await fetch(`${apiUrl}/containers/abc/json`).then((r) => r.text());
    await fetch(`${apiUrl}/containers/missing/json`).then((r) => r.text());
    await fetch(`${apiUrl}/no/such/route`).then((r) => r.text());
    const samples = await scrapeMetrics(`${metrics.url}/metrics`);
    assert.equal(metricValue(samples, 'wharf_engine_containers', { state: 'running' }), 1);
    assert.equal(metricValue(samples, 'wharf_engine_containers', { state: 'exited' }), 2);
    assert.equal(metricValue(samples, 'wharf_engine_containers', { state: 'created' }), 1);
    assert.ok(samples.some((s) => s.name === 'wharf_engine_containers' && s.labels.state === 'paused' && s.value === 0), 'an empty state is a 0');
    assert.equal(metricValue(samples, 'wharf_engine_images'), 7);
    assert.equal(metricValue(samples, 'wharf_engine_api_requests_total', { route: 'container-inspect', method: 'GET', code: '200' }), 2, 'with and without a version prefix');
    assert.equal(metricValue(samples, 'wharf_engine_api_requests_total', { route: 'container-inspect', code: '404' }), 1);
    assert.equal(metricValue(samples, 'wharf_engine_api_requests_total', { route: 'unknown' }), 1);
  } finally {
    await metrics.close();
    api.close();
  }
});
