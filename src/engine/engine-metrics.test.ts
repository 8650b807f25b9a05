import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import { metricValue, scrapeMetrics } from '../../test/support/prometheus-text.ts';
import { createLogger } from '../base/log.ts';
import { Router } from './api/router.ts';
import type { ContainerStatus } from './containers/container-record.ts';
import { startEngineMetrics } from './engine-metrics.ts';

test('containers by state (every state present), images and Engine API requests by route name', async () => {
  const states: ContainerStatus[] = ['running', 'exited', 'exited', 'created'];
  const router = new Router([
    { name: 'container-inspect', method: 'GET', path: '/containers/{id}/json', handle: async () => ({ status: 200, json: {} }) },
    { name: 'exec-start', method: 'POST', path: '/exec/{id}/start', handle: async () => ({ status: 200, json: {} }) },
  ]);
  const api = createServer((req, res) => {
    res.statusCode = req.url?.includes('missing') ? 404 : 200;
    res.end('{}');
  });
  api.on('upgrade', (_req, socket: Duplex) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  const metrics = await startEngineMetrics({ addr: '127.0.0.1:0', containerStates: () => states, imageCount: () => 7, api, router, logger: createLogger({ level: 'silent' }) });
  try {
    await fetch(`${apiUrl}/v1.44/containers/abc/json`).then((r) => r.text());
    await fetch(`${apiUrl}/containers/abc/json`).then((r) => r.text());
    await fetch(`${apiUrl}/containers/missing/json`).then((r) => r.text());
    await fetch(`${apiUrl}/no/such/route`).then((r) => r.text());
    // Versions the dispatcher refuses (too old, too new) and a hijack with one: counted, never thrown.
    await fetch(`${apiUrl}/v1.12/containers/abc/json`).then((r) => r.text());
    await fetch(`${apiUrl}/v9.9/_ping`).then((r) => r.text());
    await upgrade(`${apiUrl}/v1.12/exec/abc/start`);
    const samples = await scrapeMetrics(`${metrics.url}/metrics`);
    assert.equal(metricValue(samples, 'wharf_engine_containers', { state: 'running' }), 1);
    assert.equal(metricValue(samples, 'wharf_engine_containers', { state: 'exited' }), 2);
    assert.equal(metricValue(samples, 'wharf_engine_containers', { state: 'created' }), 1);
    assert.ok(samples.some((s) => s.name === 'wharf_engine_containers' && s.labels.state === 'paused' && s.value === 0), 'an empty state is a 0');
    assert.equal(metricValue(samples, 'wharf_engine_images'), 7);
    assert.equal(metricValue(samples, 'wharf_engine_api_requests_total', { route: 'container-inspect', method: 'GET', code: '200' }), 3, 'with and without a version prefix, even a refused one');
    assert.equal(metricValue(samples, 'wharf_engine_api_requests_total', { route: 'container-inspect', code: '404' }), 1);
    assert.equal(metricValue(samples, 'wharf_engine_api_requests_total', { route: 'unknown', code: '200' }), 2);
    assert.equal(metricValue(samples, 'wharf_engine_api_requests_total', { route: 'exec-start', code: '101' }), 1);
  } finally {
    await metrics.close();
    api.close();
  }
});

/** An `Upgrade: tcp` POST, as docker exec sends it; resolves once the server has answered and closed. */
function upgrade(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { Connection: 'Upgrade', Upgrade: 'tcp' } });
    req.on('response', (res) => res.resume().on('end', resolve));
    req.on('upgrade', (_res, socket) => (socket.destroy(), resolve()));
    req.on('error', reject);
    req.end();
  });
}
