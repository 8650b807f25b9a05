import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../base/log.ts';
import { createApiServer, type ApiServer } from './api-server.ts';
import { pluginRoutes } from './plugin-routes.ts';
import { Router } from './router.ts';
import { notInSwarm, notSwarmManager, swarmRoutes } from './swarm-routes.ts';

// The swarm and plugin tables through the real dispatcher (version prefix, schemas, error table).
describe('swarm and plugin routes answer as a dockerd outside any swarm, with no plugins', () => {
  let api: ApiServer;
  let base: string;

  before(async () => {
    api = createApiServer({ router: new Router([...swarmRoutes(), ...pluginRoutes()]), logger: createLogger({ level: 'silent' }), serverHeader: 'wharf-test' });
    api.server.listen(0, '127.0.0.1');
    await new Promise((resolve) => api.server.once('listening', resolve));
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => api.server.close(resolve)));

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; message?: string; json: unknown }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as { message?: string };
    return { status: res.status, message: json.message, json };
  }

  const managerOnly: [string, string][] = [
    ['GET', '/swarm'],
    ['GET', '/swarm/unlockkey'],
    ['POST', '/swarm/update?version=1'],
    ['POST', '/swarm/unlock'],
    ['GET', '/services'],
    ['GET', '/services?filters=%7B%22name%22%3A%5B%22x%22%5D%7D'],
    ['POST', '/services/create'],
    ['GET', '/services/abc'],
    ['POST', '/services/abc/update?version=3'],
    ['DELETE', '/services/abc'],
    ['GET', '/services/abc/logs?stdout=1'],
    ['GET', '/nodes'],
    ['GET', '/nodes/abc'],
    ['DELETE', '/nodes/abc?force=1'],
    ['POST', '/nodes/abc/update?version=1'],
    ['GET', '/tasks'],
    ['GET', '/tasks/abc'],
    ['GET', '/tasks/abc/logs?stderr=1'],
    ['GET', '/secrets'],
    ['POST', '/secrets/create'],
    ['GET', '/secrets/abc'],
    ['DELETE', '/secrets/abc'],
    ['POST', '/secrets/abc/update?version=1'],
    ['GET', '/configs'],
    ['POST', '/configs/create'],
    ['GET', '/configs/abc'],
    ['DELETE', '/configs/abc'],
    ['POST', '/configs/abc/update?version=1'],
  ];

  test('every manager route answers 503 with moby\'s "not a swarm manager" text, under any version prefix', async () => {
    for (const prefix of ['', '/v1.24', '/v1.41', '/v1.44']) {
      for (const [method, path] of managerOnly) {
        const body = method === 'POST' ? {} : undefined;
        const answer = await call(method, `${prefix}${path}`, body);
        assert.equal(answer.status, 503, `${method} ${prefix}${path}: ${answer.message}`);
        assert.equal(answer.message, notSwarmManager);
      }
    }
  });

  test('leaving answers "not part of a swarm"; init and join are refused by name', async () => {
    assert.deepEqual(await call('POST', '/v1.41/swarm/leave?force=1'), { status: 503, message: notInSwarm, json: { message: notInSwarm } });
    for (const verb of ['init', 'join']) {
      const answer = await call('POST', `/swarm/${verb}`, { ListenAddr: '0.0.0.0:2377' });
      assert.equal(answer.status, 501);
      assert.match(answer.message ?? '', /swarm mode is not supported by this engine/);
    }
  });

  test('service and task logs without a stream are refused first, as moby does', async () => {
    const answer = await call('GET', '/services/abc/logs');
    assert.equal(answer.status, 500);
    assert.equal(answer.message, 'Bad parameters: you must choose at least one stream');
  });

  test('the plugin list is empty and checks its filters', async () => {
    assert.deepEqual((await call('GET', '/plugins')).json, []);
    assert.deepEqual((await call('GET', `/v1.25/plugins?filters=${encodeURIComponent('{"enabled":{"true":true},"capability":{"volumedriver":true}}')}`)).json, []);
    assert.deepEqual(await call('GET', `/plugins?filters=${encodeURIComponent('{"name":{"x":true}}')}`), { status: 400, message: "invalid filter 'name'", json: { message: "invalid filter 'name'" } });
    assert.equal((await call('GET', `/plugins?filters=${encodeURIComponent('{"enabled":{"maybe":true}}')}`)).message, "invalid filter 'enabled=[maybe]'");
  });

  test('verbs on a named plugin answer moby\'s not-found; install and create are refused by name', async () => {
    const unknown: [string, string][] = [
      ['GET', '/plugins/vieux/sshfs:latest/json'],
      ['POST', '/plugins/vieux/sshfs:latest/enable?timeout=0'],
      ['POST', '/plugins/vieux/sshfs:latest/disable'],
      ['POST', '/plugins/vieux/sshfs:latest/push'],
      ['POST', '/plugins/vieux/sshfs:latest/upgrade?remote=vieux/sshfs'],
      ['POST', '/plugins/vieux/sshfs:latest/set'],
      ['DELETE', '/plugins/vieux/sshfs:latest?force=1'],
    ];
    for (const [method, path] of unknown) {
      const answer = await call(method, path, method === 'POST' ? [] : undefined);
      assert.deepEqual([answer.status, answer.message], [404, 'plugin "vieux/sshfs:latest" not found'], `${method} ${path}`);
    }
    const noTimeout = await call('POST', '/plugins/x/enable');
    assert.deepEqual([noTimeout.status, noTimeout.message], [500, 'strconv.Atoi: parsing "": invalid syntax']);
    for (const [method, path] of [['GET', '/plugins/privileges?remote=vieux/sshfs'], ['POST', '/plugins/pull?remote=vieux/sshfs'], ['POST', '/plugins/create?name=x']]) {
      const answer = await call(method, path);
      assert.equal(answer.status, 501, path);
      assert.match(answer.message ?? '', /plugins are not supported by this engine/);
    }
  });
});
