import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { engineRequest } from '../support/engine-api.ts';
import { freePort } from '../support/ports.ts';
import { metricValue, scrapeMetrics } from '../support/prometheus-text.ts';
import { dockerChecks, startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

// Real client: the docker CLI runs one container that keeps running and one that exits; the engine's
// engine.metricsAddr listener (dockerd's --metrics-addr) is scraped and parsed.
describe('engine metrics on engine.metricsAddr', () => {
  let engine: TestEngine;
  let metricsUrl: string;
  const { ok } = dockerChecks(() => engine);

  before(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    engine = await startTestEngineWithBusybox([], { engine: { metricsAddr: `127.0.0.1:${port}` } });
  });

  after(async () => {
    await engine?.docker(['rm', '-f', 'metrics-running', 'metrics-exited']);
    await engine?.close();
  });

  test('containers by state and images count what docker ps -a and docker images show', async () => {
    await ok('run', '-d', '--name', 'metrics-running', 'busybox', 'sleep', '300');
    await ok('run', '--name', 'metrics-exited', 'busybox', 'true');
    const samples = await scrapeMetrics(metricsUrl);
    assert.equal(metricValue(samples, 'wharf_engine_containers', { state: 'running' }), 1);
    assert.equal(metricValue(samples, 'wharf_engine_containers', { state: 'exited' }), 1);
    assert.equal(metricValue(samples, 'wharf_engine_containers'), 2);
    assert.equal(metricValue(samples, 'wharf_engine_images'), 1);
    assert.ok(metricValue(samples, 'process_resident_memory_bytes') > 0, 'process metrics of the engine process');
  });

  test('Engine API requests are counted by route name, method and code', async () => {
    const name = (route: string, code: string) => ({ route, method: 'GET', code });
    const before = await scrapeMetrics(metricsUrl);
    for (let i = 0; i < 2; i++) assert.equal((await engineRequest(engine.socket, 'GET', '/v1.44/version')).status, 200);
    assert.equal((await engineRequest(engine.socket, 'GET', '/containers/no-such/json')).status, 404);
    const after = await scrapeMetrics(metricsUrl);
    const moved = (labels: Record<string, string>) => metricValue(after, 'wharf_engine_api_requests_total', labels) - metricValue(before, 'wharf_engine_api_requests_total', labels);
    assert.equal(moved(name('version', '200')), 2);
    assert.equal(moved({ method: 'GET', code: '404' }), 1);
  });
});
