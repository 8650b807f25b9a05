import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateCertificates } from '../auth/cert-generate.ts';
import { isFault } from '../base/fault.ts';
import { sendRequest } from './http-request.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const closers: (() => void)[] = [];
after(() => {
  for (const close of closers) close();
});

async function listen(server: ReturnType<typeof createServer> | ReturnType<typeof createHttpsServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** Records the Authorization each path was asked with; `redirects` maps a path to its Location. */
function recorder(redirects: Record<string, string>, seen: Record<string, string | undefined>): Handler {
  return (req, res) => {
    seen[req.url ?? ''] = req.headers.authorization;
    const location = redirects[req.url ?? ''];
    if (location) res.writeHead(307, { location }).end();
    else res.writeHead(200).end('done');
  };
}

test('Authorization follows a redirect within the origin and is dropped across origins', async () => {
  const seenElsewhere: Record<string, string | undefined> = {};
  const elsewhere = await listen(createServer(recorder({}, seenElsewhere)));
  const seen: Record<string, string | undefined> = {};
  const port = await listen(createServer(recorder({ '/a': '/b', '/b': `http://127.0.0.1:${elsewhere}/c` }, seen)));
  const res = await sendRequest(new URL(`http://127.0.0.1:${port}/a`), { headers: { Authorization: 'Bearer secret' } });
  res.resume();
  assert.equal(res.statusCode, 200);
  assert.deepEqual(seen, { '/a': 'Bearer secret', '/b': 'Bearer secret' });
  assert.deepEqual(seenElsewhere, { '/c': undefined });
});

test('https never redirects to http, not even on the same host (the token would go in cleartext)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-http-request-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  const certs = generateCertificates({ out: dir, hosts: ['127.0.0.1'] });
  const seenPlain: Record<string, string | undefined> = {};
  const plain = await listen(createServer(recorder({}, seenPlain)));
  const redirects: Record<string, string> = { '/other-port': `http://127.0.0.1:${plain}/x` };
  const seen: Record<string, string | undefined> = {};
  const tls = await listen(createHttpsServer({ cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) }, recorder(redirects, seen)));
  // Same host string, scheme downgraded: the host check alone kept Authorization here.
  redirects['/same-host'] = `http://127.0.0.1:${tls}/x`;
  for (const path of ['/same-host', '/other-port']) {
    await assert.rejects(
      sendRequest(new URL(`https://127.0.0.1:${tls}${path}`), { headers: { Authorization: 'Bearer secret' }, ca: readFileSync(certs.caCert) }),
      (err) => isFault(err, 'unavailable') && /^127\.0\.0\.1:\d+ redirected to http:\/\/127\.0\.0\.1:\d+, which is not https$/.test(err.message),
      path,
    );
  }
  assert.deepEqual(seenPlain, {}, 'nothing was sent over http');
  assert.deepEqual(Object.keys(seen).sort(), ['/other-port', '/same-host']);
});
