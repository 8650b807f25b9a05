import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { metricValue, parsePrometheusText } from '../../../test/support/prometheus-text.ts';
import { reportSentBodyBytes } from '../sent-body-bytes.ts';
import { instrumentRegistry } from './instrument-registry.ts';
import { RegistryMetrics } from './registry-metrics.ts';

const digest = `sha256:${'b'.repeat(64)}`;
const copiedDigest = `sha256:${'c'.repeat(64)}`;
const blob = randomBytes(300_000);
let app: FastifyInstance;
let url: string;
let metrics: RegistryMetrics;
const seen: { piped?: number; iterated?: number; inFlight?: number } = {};

const samples = async () => parsePrometheusText(await metrics.registry.metrics());

// Handlers that consume bodies both ways the registry does (pipe into a writer, async iteration), stream a blob
// out, or refuse; the body parser leaves bodies unread as the registry's /v2 scope does.
before(async () => {
  metrics = new RegistryMetrics({ storage: async () => ({ blobs: 2, bytes: 9 }) });
  app = Fastify();
  instrumentRegistry(app, metrics, { metricsPath: '/metrics' });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.post('/v2/app/blobs/uploads/', async (request, reply) => {
    seen.inFlight = metricValue(await samples(), 'wharf_registry_uploads_in_flight');
    let piped = 0;
    await pipeline(request.raw, new Writable({ write: (chunk: Buffer, _e, done) => ((piped += chunk.length), done()) }));
    seen.piped = piped;
    return reply.code(201).send();
  });
  app.patch('/v2/app/blobs/uploads/:id', async (request, reply) => {
    let iterated = 0;
    for await (const chunk of request.raw) iterated += (chunk as Buffer).length;
    seen.iterated = iterated;
    return reply.code(202).send();
  });
  app.put('/v2/app/blobs/uploads/:id', async (_request, reply) => reply.code(401).header('connection', 'close').send({ errors: [] }));
  app.get(`/v2/app/blobs/${digest}`, async (_request, reply) => reply.send(Readable.from([blob.subarray(0, 100_000), blob.subarray(100_000)])));
  // As sendBlob's copy path: the body written into the raw response from outside fastify, its bytes reported.
  // (A colon starts a path parameter in fastify's routes; `::` is a literal one.)
  app.get(`/v2/app/blobs/${copiedDigest.replace(':', '::')}`, async (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-length': 200_000 });
    reply.raw.write(blob.subarray(0, 1000));
    reply.raw.write(blob.subarray(1000, 200_000));
    reportSentBodyBytes(reply.raw, 200_000);
    reply.raw.end();
    return reply;
  });
  app.get('/v2/_catalog', async (_request, reply) => reply.code(403).send({ errors: [] }));
  app.get('/auth/token', async () => ({ token: 't' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});

after(() => app.close());

test('upload bodies are counted as the handler consumes them, piped or iterated, and nothing is lost', async () => {
  const before = await samples();
  assert.equal((await fetch(`${url}/v2/app/blobs/uploads/`, { method: 'POST', body: blob })).status, 201);
  assert.equal((await fetch(`${url}/v2/app/blobs/uploads/u1`, { method: 'PATCH', body: blob.subarray(0, 1234) })).status, 202);
  const end = await samples();
  assert.equal(seen.piped, blob.length);
  assert.equal(seen.iterated, 1234);
  assert.equal(metricValue(end, 'wharf_registry_blob_bytes_received_total', { route: 'blob_upload' }) - metricValue(before, 'wharf_registry_blob_bytes_received_total', { route: 'blob_upload' }), blob.length);
  assert.equal(metricValue(end, 'wharf_registry_blob_bytes_received_total', { route: 'blob_upload_chunk' }), 1234);
  assert.equal(seen.inFlight, 1, 'the upload was in flight while its handler ran');
  assert.equal(metricValue(end, 'wharf_registry_uploads_in_flight'), 0);
});

test('a body refused unread counts no bytes and leaves no upload in flight', async () => {
  const before = await samples();
  const answer = await fetch(`${url}/v2/app/blobs/uploads/u2?digest=${digest}`, { method: 'PUT', body: blob, headers: { authorization: 'Basic Ym9iOm5vcGU=' } });
  assert.equal(answer.status, 401);
  await answer.arrayBuffer();
  const end = await samples();
  assert.equal(metricValue(end, 'wharf_registry_blob_bytes_received_total', { route: 'blob_upload_chunk' }), metricValue(before, 'wharf_registry_blob_bytes_received_total', { route: 'blob_upload_chunk' }));
  assert.equal(metricValue(end, 'wharf_registry_uploads_in_flight'), 0);
  assert.equal(metricValue(end, 'wharf_registry_auth_failures_total', { route: 'blob_upload_chunk', reason: 'unauthenticated' }), 1);
});

test('streamed blob answers count the bytes sent; the client gets every byte', async () => {
  const before = metricValue(await samples(), 'wharf_registry_blob_bytes_sent_total', { route: 'blob' });
  const answer = await fetch(`${url}/v2/app/blobs/${digest}`);
  assert.deepEqual(Buffer.from(await answer.arrayBuffer()), blob);
  assert.equal(metricValue(await samples(), 'wharf_registry_blob_bytes_sent_total', { route: 'blob' }) - before, blob.length);
});

test('a blob copied into the response by its handler counts the bytes the handler reports, once', async () => {
  const before = metricValue(await samples(), 'wharf_registry_blob_bytes_sent_total', { route: 'blob' });
  const answer = await fetch(`${url}/v2/app/blobs/${copiedDigest}`);
  assert.deepEqual(Buffer.from(await answer.arrayBuffer()), blob.subarray(0, 200_000));
  assert.equal(metricValue(await samples(), 'wharf_registry_blob_bytes_sent_total', { route: 'blob' }) - before, 200_000);
});

test('requests are counted by route, method and code with their latency; refusals and tokens by kind', async () => {
  const before = await samples();
  await fetch(`${url}/v2/_catalog`).then((r) => r.arrayBuffer());
  await fetch(`${url}/v2/_catalog`).then((r) => r.arrayBuffer());
  await fetch(`${url}/auth/token`).then((r) => r.arrayBuffer());
  await fetch(`${url}/v2/app/blobs/uploads/u3`, { method: 'PUT' }).then((r) => r.arrayBuffer());
  const end = await samples();
  const moved = (name: string, labels: Record<string, string>) => metricValue(end, name, labels) - metricValue(before, name, labels);
  assert.equal(moved('wharf_registry_http_requests_total', { route: 'catalog', method: 'GET', code: '403' }), 2);
  assert.equal(moved('wharf_registry_http_request_duration_seconds_count', { route: 'catalog', method: 'GET' }), 2);
  assert.equal(moved('wharf_registry_auth_failures_total', { route: 'catalog', reason: 'denied' }), 2);
  assert.equal(moved('wharf_auth_tokens_issued_total', {}), 1);
  assert.equal(moved('wharf_registry_auth_failures_total', { route: 'blob_upload_chunk' }), 0, 'a 401 without credentials is the usual challenge');
  assert.equal(metricValue(end, 'wharf_registry_storage_blobs'), 2);
  assert.equal(metricValue(end, 'wharf_registry_storage_bytes'), 9);
});

test('a garbage collection run is recorded with what it freed', async () => {
  metrics.recordGcRun({ freedBlobs: 4, freedBytes: 4096, durationSeconds: 1.5 });
  metrics.recordGcRun({ freedBlobs: 1, freedBytes: 10, durationSeconds: 0.25 });
  const end = await samples();
  assert.equal(metricValue(end, 'wharf_registry_gc_runs_total'), 2);
  assert.equal(metricValue(end, 'wharf_registry_gc_freed_blobs_total'), 5);
  assert.equal(metricValue(end, 'wharf_registry_gc_freed_bytes_total'), 4106);
  assert.equal(metricValue(end, 'wharf_registry_gc_last_duration_seconds'), 0.25);
});
