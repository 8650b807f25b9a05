import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { sendWholeBody as sendWholeBodyTo } from '../../../test/support/whole-body-client.ts';
import { after, before, test } from 'node:test';
import { digestOf } from '../../oci/digest.ts';
import type { AuthDecision, AuthRequest, Authorizer } from '../../auth/authorizer.ts';
import { startTestV1, type TestV1 } from '../v1/test-v1.ts';
import { startTestRegistry, type TestRegistry } from './test-registry.ts';

/** Lets everything through except requests that carry `Authorization: Basic bad`, which get a 401. */
class RefuseBad implements Authorizer {
  readonly mode = 'htpasswd' as const;
  async authorize(request: AuthRequest): Promise<AuthDecision> {
    if (request.authorization === 'Basic bad') {
      return { allowed: false, status: 401, challenge: 'Basic realm="wharf"', code: 'UNAUTHORIZED', message: 'authentication required' };
    }
    return { allowed: true, identity: { admin: true }, granted: [] };
  }
  async filterPullable(_identity: unknown, names: string[]): Promise<string[]> {
    return names;
  }
}

let t: TestRegistry;
let v1: TestV1;
let port: number;
let v1Port: number;

before(async () => {
  t = await startTestRegistry({ registry: { maxManifestBytes: 64 * 1024 }, authorizer: new RefuseBad() });
  port = Number(new URL(await t.url()).port);
  v1 = await startTestV1({ auth: { mode: 'htpasswd' } });
  v1Port = Number(new URL(await v1.url()).port);
});

after(async () => {
  await t.close();
  await v1.close();
});

function sendWholeBody(head: string, size: number, options: { chunked?: boolean; port?: number } = {}): Promise<{ statusLine: string; text: string }> {
  return sendWholeBodyTo(() => connect(options.port ?? port, '127.0.0.1'), head, size, options);
}

test('an answer after the body was read keeps the connection', async () => {
  const res = await fetch(`${await t.url()}/v2/early/kept/blobs/uploads/?digest=${digestOf('kept')}`, { method: 'POST', body: 'kept' });
  assert.equal(res.status, 201);
  assert.notEqual(res.headers.get('connection'), 'close');
});

test('a 401 on a PATCH with a large body reaches a client that writes the whole body first', async () => {
  const start = await t.app.inject({ method: 'POST', url: '/v2/early/auth/blobs/uploads/' });
  const { statusLine, text } = await sendWholeBody(`PATCH ${start.headers.location} HTTP/1.1\r\nAuthorization: Basic bad`, 200 * 1024 * 1024);
  assert.equal(statusLine, 'HTTP/1.1 401 Unauthorized');
  assert.match(text, /connection: close/i);
  assert.match(text, /"code":"UNAUTHORIZED"/);
});

test('a 404 for an unknown upload is answered while the client is still sending', async () => {
  const { statusLine, text } = await sendWholeBody('PATCH /v2/early/gone/blobs/uploads/nosuchupload HTTP/1.1', 200 * 1024 * 1024);
  assert.equal(statusLine, 'HTTP/1.1 404 Not Found');
  assert.match(text, /"code":"BLOB_UPLOAD_UNKNOWN"/);
});

test('a 413 for a manifest over the limit is answered while the client is still sending', async () => {
  const { statusLine, text } = await sendWholeBody('PUT /v2/early/big/manifests/latest HTTP/1.1', 100 * 1024 * 1024);
  assert.equal(statusLine, 'HTTP/1.1 413 Payload Too Large');
  assert.match(text, /"code":"SIZE_INVALID"/);
});

test('a chunked manifest body over the limit gets its 413 once the cap is passed, not a reset', async () => {
  const { statusLine, text } = await sendWholeBody('PUT /v2/early/chunked/manifests/latest HTTP/1.1', 100 * 1024 * 1024, { chunked: true });
  assert.equal(statusLine, 'HTTP/1.1 413 Payload Too Large');
  assert.match(text, /"code":"SIZE_INVALID"/);
});

test('a mount answered 201 before its (needless) body is read closes the connection instead of reading it all', async () => {
  const blob = await t.app.inject({ method: 'POST', url: `/v2/early/source/blobs/uploads/?digest=${digestOf('mounted')}`, payload: 'mounted' });
  assert.equal(blob.statusCode, 201);
  const { statusLine, text } = await sendWholeBody(`POST /v2/early/target/blobs/uploads/?mount=${digestOf('mounted')}&from=early/source HTTP/1.1`, 200 * 1024 * 1024);
  assert.equal(statusLine, 'HTTP/1.1 201 Created');
  assert.match(text, /connection: close/i);
});

test('a 401 on a monolithic POST and a PUT with a body are answered too, and the registry keeps serving', async () => {
  const post = await sendWholeBody('POST /v2/early/mono/blobs/uploads/?digest=sha256:00 HTTP/1.1\r\nAuthorization: Basic bad', 50 * 1024 * 1024);
  assert.equal(post.statusLine, 'HTTP/1.1 401 Unauthorized');
  const put = await sendWholeBody('PUT /v2/early/x/manifests/latest HTTP/1.1\r\nAuthorization: Basic bad', 50 * 1024 * 1024);
  assert.equal(put.statusLine, 'HTTP/1.1 401 Unauthorized');
  const base = await fetch(`${await t.url()}/v2/`);
  assert.equal(base.status, 200);
});

test('the v1 routes answer a refused layer PUT before its body is read, and close', async () => {
  const { statusLine, text } = await sendWholeBody(`PUT /v1/images/${'a'.repeat(64)}/layer HTTP/1.1`, 200 * 1024 * 1024, { port: v1Port });
  assert.equal(statusLine, 'HTTP/1.1 401 Unauthorized');
  assert.match(text, /connection: close/i);
});
