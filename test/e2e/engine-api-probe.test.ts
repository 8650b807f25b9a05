import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { importBusybox } from '../support/busybox.ts';
import { run } from '../support/run.ts';
import { sidesOf } from '../support/side-by-side.ts';
import { withTempDir } from '../support/temp.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

/**
 * What client libraries probe before they do anything (swarm, plugins, the API version) and `docker diff`, asked
 * of wharf and of a private dockerd 20.10 in the same test: wharf must answer as a dockerd outside any swarm.
 */
describe('engine API probes answer as dockerd does: swarm, plugins, versions, diff', () => {
  let engine: TestEngine;
  let dockerd: Dockerd;
  const both = () => sidesOf(engine, dockerd);

  before(async () => {
    [engine, dockerd] = await Promise.all([startTestEngineWithBusybox(['-c', 'CMD ["sh"]']), startDockerd()]);
    await importBusybox(dockerd, 'busybox');
  });
  after(async () => {
    await Promise.all([engine?.close(), dockerd?.stop()]);
  });

  test('docker swarm leave / service ls / node ls fail with dockerd\'s words; info shows Swarm: inactive', async () => {
    for (const args of [['swarm', 'leave'], ['service', 'ls'], ['node', 'ls'], ['secret', 'ls'], ['config', 'ls']]) {
      const [mine, theirs] = await Promise.all(both().map((d) => d.docker(args)));
      assert.equal(mine.code, theirs.code, `docker ${args.join(' ')}`);
      assert.equal(mine.stderr, theirs.stderr, `docker ${args.join(' ')}`);
    }
    for (const d of both()) {
      const info = await d.docker(['info', '--format', '{{json .Swarm}}']);
      assert.deepEqual(JSON.parse(info.stdout), { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null }, d.name);
      assert.match((await d.docker(['info'])).stdout, /Swarm: inactive/, d.name);
    }
  });

  test('docker plugin ls is empty and plugin inspect says not found, as dockerd', async () => {
    const [mine, theirs] = await Promise.all(both().map((d) => d.docker(['plugin', 'ls'])));
    assert.equal(mine.stdout, theirs.stdout);
    assert.equal(mine.stdout.trim().split('\n').length, 1, 'only the header');
    for (const args of [['plugin', 'inspect', 'vieux/sshfs'], ['plugin', 'enable', 'vieux/sshfs'], ['plugin', 'disable', 'vieux/sshfs'], ['plugin', 'rm', 'vieux/sshfs']]) {
      const [m, t] = await Promise.all(both().map((d) => d.docker(args)));
      assert.deepEqual([m.code, m.stderr], [t.code, t.stderr], `docker ${args.join(' ')}`);
    }
  });

  test('docker diff after a write lists what dockerd lists: no mount points', async () => {
    const script = 'echo x >/tmp/new; echo y >>/etc/passwd; rm /bin/ls; mkdir /data';
    const lists = await Promise.all(
      both().map(async (d) => {
        const ran = await d.docker(['run', '--name', 'differ', '--network', 'none', 'busybox', 'sh', '-c', script]);
        assert.equal(ran.code, 0, `${d.name}: ${ran.stderr}`);
        const diff = await d.docker(['diff', 'differ']);
        assert.equal(diff.code, 0, `${d.name}: ${diff.stderr}`);
        await d.docker(['rm', 'differ']);
        return diff.stdout.trim().split('\n').sort();
      }),
    );
    assert.deepEqual(lists[0], lists[1]);
    for (const hidden of ['A /etc/hosts', 'A /etc/hostname', 'A /etc/resolv.conf', 'A /dev', 'A /proc', 'A /sys']) assert.ok(!lists[0].includes(hidden), hidden);
  });

  test('docker-py: the swarm probe gets a 503, plugins.list() is empty, version() and version="auto" negotiate', async () => {
    const script = `
import json, docker
c = docker.from_env(version='auto')
out = {'api': c.api.api_version, 'plugins': c.plugins.list(), 'min': c.version()['MinAPIVersion']}
# Swarm() swallows the 503 (and 406) of its first reload: that is the probe; reload() itself raises it.
out['attrs'] = c.swarm.attrs
try:
    c.swarm.reload()
except docker.errors.APIError as e:
    out['swarm'] = [e.status_code, e.explanation]
old = docker.from_env(version='1.41')
out['old'] = [old.version()['ApiVersion'], [x.name for x in old.containers.list(all=True)] is not None, len(old.images.list()) > 0]
print(json.dumps(out))
`;
    const answers = await Promise.all(
      both().map(async (d) => {
        const result = await run('python3', ['-c', script], { env: d.env });
        assert.equal(result.code, 0, `${d.name}: ${result.stderr}`);
        return JSON.parse(result.stdout) as { api: string; plugins: unknown[]; min: string; swarm: [number, string]; old: unknown[]; attrs: unknown };
      }),
    );
    const [mine, theirs] = answers;
    assert.deepEqual(mine.swarm, theirs.swarm);
    assert.equal(mine.swarm[0], 503);
    assert.deepEqual([mine.attrs, theirs.attrs], [{}, {}]);
    assert.deepEqual(mine.plugins, []);
    assert.deepEqual(mine.plugins, theirs.plugins);
    assert.equal(mine.api, '1.44', 'auto takes the server\'s ApiVersion');
    assert.equal(mine.min, '1.24');
    assert.equal((mine.old as unknown[])[1], true);
    assert.equal((mine.old as unknown[])[2], true);
  });

  test('docker-compose 1.29 negotiates and lists an empty project', async () => {
    await withTempDir('wharf-compose-probe-', async (dir) => {
      writeFileSync(join(dir, 'docker-compose.yml'), 'version: "3.7"\nservices:\n  a:\n    image: busybox\n');
      const lists = [];
      for (const d of both()) {
        const result = await run('docker-compose', ['-p', 'probe', 'ps'], { env: d.env, cwd: dir });
        assert.equal(result.code, 0, `${d.name}: ${result.stderr}`);
        lists.push(result.stdout);
      }
      assert.equal(lists[0], lists[1]);
    });
  });
});
