import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { freePort, waitFor } from '../support/ports.ts';
import { metricValue, type PromSample, scrapeMetrics } from '../support/prometheus-text.ts';
import { runOk } from '../support/run.ts';
import { skopeoCopy, skopeoDelete } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

/** Sizes of what a push of `image` stores: its layer and config (uploaded as blobs) and its manifest. */
function imageSizes(image: RandomLayerImage) {
  const blob = (digest: string) => statSync(join(image.path, 'blobs', 'sha256', digest.slice(7))).size;
  const manifest = blob(image.manifestDigest ?? '');
  return { uploaded: image.layer.size + blob(image.configDigest), manifest };
}

const delta = (before: PromSample[], after: PromSample[], name: string, labels: Record<string, string> = {}) =>
  metricValue(after, name, labels) - metricValue(before, name, labels);

// Real client: skopeo pushes and pulls; the exposition is scraped over HTTP and parsed strictly.
describe('registry metrics scraped after skopeo pushes and pulls', () => {
  let tmp: TempDir;
  let image: RandomLayerImage;
  let wharf: TestWharf;
  const scrape = () => scrapeMetrics(`${wharf.url}/metrics`);

  before(async () => {
    tmp = makeTempDir('wharf-metrics-');
    [image, wharf] = await Promise.all([
      makeRandomLayerImage(join(tmp.path, 'oci'), { layerBytes: 2 * 1024 * 1024 + 13, format: 'oci', tag: 'v1' }),
      startTestWharf({ config: { registry: { metrics: { storageCacheSeconds: 0 } } } }),
    ]);
  });

  after(async () => {
    await wharf?.close();
    tmp?.remove();
  });

  test('a push moves the upload byte counter by the blob sizes, the manifest PUT by one, storage by what was stored', async () => {
    const sizes = imageSizes(image);
    const start = await scrape();
    assert.equal(metricValue(start, 'wharf_registry_storage_blobs'), 0);
    await skopeoCopy(image.ref, `docker://${wharf.host}/metrics/app:v1`, { preserveDigests: true });
    const end = await scrape();
    assert.equal(delta(start, end, 'wharf_registry_blob_bytes_received_total'), sizes.uploaded);
    assert.equal(delta(start, end, 'wharf_registry_http_requests_total', { route: 'manifest', method: 'PUT', code: '201' }), 1);
    assert.equal(metricValue(end, 'wharf_registry_uploads_in_flight'), 0);
    assert.equal(metricValue(end, 'wharf_registry_storage_blobs'), 3);
    assert.equal(metricValue(end, 'wharf_registry_storage_bytes'), sizes.uploaded + sizes.manifest);
    const chunkRequests = metricValue(end, 'wharf_registry_http_requests_total', { route: 'blob_upload_chunk' }) + metricValue(end, 'wharf_registry_http_requests_total', { route: 'blob_upload' });
    const chunkObserved = metricValue(end, 'wharf_registry_http_request_duration_seconds_count', { route: 'blob_upload_chunk' }) + metricValue(end, 'wharf_registry_http_request_duration_seconds_count', { route: 'blob_upload' });
    assert.ok(chunkRequests >= 2);
    assert.equal(chunkObserved, chunkRequests, 'every counted request has its latency observed');
  });

  test('a pull moves the download byte counter by the blob sizes; known requests move their series by exactly their count', async () => {
    const sizes = imageSizes(image);
    const start = await scrape();
    await skopeoCopy(`docker://${wharf.host}/metrics/app:v1`, `oci:${join(tmp.path, 'back')}:v1`, { preserveDigests: true });
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${wharf.url}/v2/`)).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await fetch(`${wharf.url}/v2/metrics/app/blobs/sha256:${'0'.repeat(64)}`, { method: 'HEAD' })).status, 404);
    const end = await scrape();
    assert.equal(delta(start, end, 'wharf_registry_blob_bytes_sent_total', { route: 'blob' }), sizes.uploaded);
    assert.equal(delta(start, end, 'wharf_registry_blob_bytes_received_total'), 0);
    assert.equal(delta(start, end, 'wharf_registry_http_requests_total', { route: 'base', method: 'GET', code: '200' }), 3 + 1, 'three here, one by skopeo');
    assert.equal(delta(start, end, 'wharf_registry_http_requests_total', { route: 'blob', method: 'HEAD', code: '404' }), 2);
    assert.equal(delta(start, end, 'wharf_registry_http_requests_total', { route: 'metrics', method: 'GET', code: '200' }), 1, 'the first scrape is counted by the second');
    assert.ok(metricValue(end, 'process_cpu_seconds_total') > 0, 'prom-client default metrics are exposed');
  });
});

describe('registry metrics with auth and on an address of their own', () => {
  let tmp: TempDir;

  before(() => {
    tmp = makeTempDir('wharf-metrics-auth-');
  });

  after(() => tmp?.remove());

  test('with auth on, /metrics on the registry address is for admins; refusals are counted by reason', async () => {
    const root = join(tmp.path, 'auth');
    const file = join(tmp.path, 'htpasswd');
    writeFileSync(file, await runOk('htpasswd', ['-nbB', 'dev', 'dev-secret']));
    await runOk(wharfBin, ['user', 'add', 'ops', '--admin', '--password-stdin', '--root', root], { input: 'ops-secret' });
    const wharf = await startTestWharf({ root, config: { auth: { mode: 'htpasswd', htpasswd: file } } });
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    try {
      const anonymous = await fetch(`${wharf.url}/metrics`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      const dev = await fetch(`${wharf.url}/metrics`, { headers: basic('dev', 'dev-secret') });
      assert.equal(dev.status, 403);
      assert.equal(((await dev.json()) as { errors: { code: string }[] }).errors[0].code, 'DENIED');
      assert.equal((await fetch(`${wharf.url}/v2/`, { headers: basic('ops', 'wrong') })).status, 401);
      const samples = await scrapeMetrics(`${wharf.url}/metrics`, basic('ops', 'ops-secret'));
      assert.equal(metricValue(samples, 'wharf_registry_auth_failures_total', { route: 'metrics', reason: 'denied' }), 1);
      assert.equal(metricValue(samples, 'wharf_registry_auth_failures_total', { route: 'base', reason: 'unauthenticated' }), 1);
      assert.equal(metricValue(samples, 'wharf_registry_auth_failures_total', { route: 'metrics', reason: 'unauthenticated' }), 0, 'a challenge to a request without credentials is no failure');
    } finally {
      await wharf.close();
    }
  });

  test('registry.metrics.addr serves them on a listener of their own, and the registry address no longer does', async () => {
    const port = await freePort();
    const wharf = await startTestWharf({ root: join(tmp.path, 'own'), config: { registry: { metrics: { addr: `127.0.0.1:${port}`, path: '/debug/metrics' } } } });
    try {
      assert.equal((await fetch(`${wharf.url}/v2/`)).status, 200);
      const samples = await scrapeMetrics(`http://127.0.0.1:${port}/debug/metrics`);
      assert.equal(metricValue(samples, 'wharf_registry_http_requests_total', { route: 'base', method: 'GET', code: '200' }), 1);
      assert.equal((await fetch(`${wharf.url}/debug/metrics`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
    } finally {
      await wharf.close();
    }
    await assert.rejects(fetch(`http://127.0.0.1:${port}/debug/metrics`), 'closed with the registry');
  });

  test('a garbage collection run is counted with the blobs and bytes it freed', async () => {
    const root = join(tmp.path, 'gc');
    const image = await makeRandomLayerImage(join(tmp.path, 'gc-oci'), { layerBytes: 512 * 1024 + 3, format: 'oci', tag: 'v1' });
    const sizes = imageSizes(image);
    const first = await startTestWharf({ root });
    try {
      await skopeoCopy(image.ref, `docker://${first.host}/gc/app:v1`, { preserveDigests: true });
      await skopeoDelete(`docker://${first.host}/gc/app@${image.manifestDigest}`);
    } finally {
      await first.close();
    }
    const wharf = await startTestWharf({ root, config: { registry: { gc: { intervalSeconds: 1, gracePeriodSeconds: 0 }, metrics: { storageCacheSeconds: 0 } } } });
    try {
      let samples: PromSample[] = [];
      await waitFor('a garbage collection', async () => {
        samples = await scrapeMetrics(`${wharf.url}/metrics`);
        return metricValue(samples, 'wharf_registry_gc_runs_total') >= 1;
      });
      assert.equal(metricValue(samples, 'wharf_registry_gc_freed_blobs_total'), 3);
      assert.equal(metricValue(samples, 'wharf_registry_gc_freed_bytes_total'), sizes.uploaded + sizes.manifest);
      assert.equal(metricValue(samples, 'wharf_registry_storage_bytes'), 0);
      assert.ok(metricValue(samples, 'wharf_registry_gc_last_run_timestamp_seconds') > 0);
    } finally {
      await wharf.close();
    }
  });
});
