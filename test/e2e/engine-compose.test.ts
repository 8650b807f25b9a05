import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, waitFor } from '../support/ports.ts';
import { run, runOk, type RunResult } from '../support/run.ts';
import { testNetworkConfig } from '../support/test-network.ts';
import { startTestEngineWithBusybox, type TestEngine } from './engine-harness.ts';

const project = 'wharfe2e';
const page = 'hello-from-web';
/** A container's address on the project network, as a docker inspect format. */
const addressFormat = `{{(index .NetworkSettings.Networks "${project}_default").IPAddress}}`;

/**
 * `web` serves a page from the named volume `pages` and publishes it; `client` fetches it by service name every
 * half second (busybox wget crashes on this host, so a raw HTTP/1.0 request through nc). Both stop at once:
 * httpd as PID 1 ignores SIGTERM (stop_signal), the client's shell traps it.
 */
function composeFile(port: number): string {
  return `version: "3.8"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo ${page} > /www/index.html && exec httpd -f -p 80 -h /www"]
    stop_signal: SIGKILL
    ports:
      - "${port}:80"
    volumes:
      - pages:/www
  client:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do printf 'GET / HTTP/1.0\\\\r\\\\n\\\\r\\\\n' | nc web 80; sleep 0.5; done"]
    depends_on:
      - web
volumes:
  pages:
`;
}

/** Debian's docker-compose 1.29 (docker-py) driving the engine: a project network, a volume, two services. */
describe('docker-compose against the engine', () => {
  let engine: TestEngine;
  let dir: string;
  let port: number;
  let instance: string;
  /** What the project put on the host while it was up, to look for after `down -v`. */
  const seen = { containers: [] as string[], addresses: [] as string[], networkId: '', veths: [] as string[] };

  before(async () => {
    engine = await startTestEngineWithBusybox();
    dir = join(engine.root, 'compose-project');
    mkdirSync(dir);
    port = await freePort();
    writeFileSync(join(dir, 'docker-compose.yml'), composeFile(port));
    instance = readFileSync(join(engine.root, 'engine', 'engine-id'), 'utf8').trim().slice(0, 8);
  });
  after(async () => {
    // A failed test must not leave the project's veths and rules behind on the shared host.
    if (engine) await compose('down', '-v', '-t', '0');
    await engine?.close();
  });

  const compose = (...args: string[]): Promise<RunResult> =>
    run('docker-compose', ['-p', project, ...args], { env: engine.env, cwd: dir, timeoutMs: 180_000 });
  const composeOk = async (...args: string[]): Promise<string> => {
    const result = await compose(...args);
    assert.equal(result.code, 0, `docker-compose ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return result.stdout;
  };
  const dockerOk = async (...args: string[]): Promise<string> => {
    const result = await engine.docker(args);
    assert.equal(result.code, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');
  /** This engine's rules as iptables-save prints them (`-A WHARF-<instance>-X …`), all tables. */
  const engineRules = async () => lines(await runOk('iptables-save', [])).filter((line) => line.startsWith(`-A WHARF-${instance}-`));

  test('up -d creates the network, the volume and both services', async () => {
    const up = await composeOk('up', '-d');
    assert.equal(up, '');
    assert.deepEqual(lines(await dockerOk('network', 'ls', '--format', '{{.Name}}', '--filter', `label=com.docker.compose.project=${project}`)), [`${project}_default`]);
    assert.deepEqual(lines(await dockerOk('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`)), [`${project}_pages`]);
    seen.networkId = await dockerOk('network', 'inspect', '-f', '{{.Id}}', `${project}_default`);
    seen.containers = lines(await composeOk('ps', '-q'));
    assert.equal(seen.containers.length, 2);
    for (const id of seen.containers) assert.ok(existsSync(`/run/netns/wharf-${id.slice(0, 12)}`), `no netns for ${id}`);
    seen.addresses = await Promise.all(seen.containers.map((id) => dockerOk('inspect', '-f', addressFormat, id)));
    for (const address of seen.addresses) assert.match(address, /^10\.\d+\.\d+\.\d+$/);
  });

  test('ps lists both services Up, web with its published port', async () => {
    const rows = lines(await composeOk('ps')).slice(2);
    assert.equal(rows.length, 2, rows.join('\n'));
    const row = (name: string) => rows.find((line) => line.startsWith(`${project}_${name}_1 `)) ?? assert.fail(`no ${name} in\n${rows.join('\n')}`);
    assert.match(row('web'), new RegExp(`\\sUp\\s+0\\.0\\.0\\.0:${port}->80/tcp`));
    assert.match(row('client'), /\sUp\s*$/);
    assert.equal((await composeOk('port', 'web', '80')).trim(), `0.0.0.0:${port}`);
  });

  test('the published port answers from the host on 127.0.0.1', async () => {
    let body = '';
    await waitFor('web on the published port', async () => {
      body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      return true;
    });
    assert.equal(body, `${page}\n`);
  });

  test('logs client shows the page it fetched from web by service name', async () => {
    let logs = '';
    await waitFor('the client to fetch the page', async () => {
      logs = await composeOk('logs', '--no-color', 'client');
      return logs.includes(page);
    });
    assert.match(logs, /client_1\s+\| HTTP\/1\.[01] 200 OK/);
    assert.match(logs, new RegExp(`client_1\\s+\\| ${page}`));
  });

  test('exec -T runs in the service container', async () => {
    assert.equal(await composeOk('exec', '-T', 'web', 'cat', '/www/index.html'), `${page}\n`);
    const webAddress = await dockerOk('inspect', '-f', addressFormat, `${project}_web_1`);
    assert.match(await composeOk('exec', '-T', 'client', 'nslookup', 'web'), new RegExp(`Address:\\s+${webAddress.replaceAll('.', '\\.')}\\s`));
  });

  test('the named volume is the project\'s and holds what web wrote', async () => {
    const volume = JSON.parse(await dockerOk('volume', 'inspect', `${project}_pages`))[0];
    assert.equal(volume.Labels['com.docker.compose.project'], project);
    assert.equal(volume.Labels['com.docker.compose.volume'], 'pages');
    assert.equal(readFileSync(join(volume.Mountpoint, 'index.html'), 'utf8'), `${page}\n`);
  });

  test('the project is on the host: one veth per container on its bridge, a DNAT rule for the port', async () => {
    const bridge = `br-${seen.networkId.slice(0, 12)}`;
    seen.veths = lines(await runOk('ip', ['-br', 'link', 'show', 'master', bridge])).map((line) => line.split(/[\s@]/)[0]);
    assert.equal(seen.veths.length, 2, seen.veths.join(', '));
    for (const veth of seen.veths) assert.match(veth, /^vw[0-9a-f]{12}$/);
    assert.ok((await engineRules()).some((rule) => rule.includes('-j DNAT') && rule.includes(`--dport ${port}`)), 'no DNAT rule for the port');
  });

  test('down -v removes containers, network and volume, and leaves nothing on the host', async () => {
    const down = await composeOk('down', '-v');
    assert.equal(down, '');
    const projectLabel = `label=com.docker.compose.project=${project}`;
    assert.equal(await dockerOk('ps', '-aq', '--filter', projectLabel), '');
    assert.equal(await dockerOk('ps', '-aq'), '');
    assert.deepEqual(lines(await dockerOk('network', 'ls', '--format', '{{.Name}}')).sort(), ['bridge', 'host', 'none']);
    assert.equal(await dockerOk('volume', 'ls', '-q'), '');
    assert.equal(lines(await composeOk('ps', '-q')).length, 0);

    const projectBridge = `br-${seen.networkId.slice(0, 12)}`;
    const links = lines(await runOk('ip', ['-br', 'link']));
    const names = links.map((line) => line.split(/[\s@]/)[0]);
    for (const veth of seen.veths) assert.ok(!names.includes(veth), `${veth} is left`);
    assert.ok(!names.includes(projectBridge), 'the project bridge is left');
    for (const id of seen.containers) assert.ok(!existsSync(`/run/netns/wharf-${id.slice(0, 12)}`), `the netns of ${id} is left`);
    assert.equal(await runOk('ip', ['-br', 'link', 'show', 'master', testNetworkConfig(engine.root).bridge]), '');
    const rules = await engineRules();
    assert.deepEqual(rules.filter((rule) => rule.includes(projectBridge)), []);
    assert.deepEqual(rules.filter((rule) => rule.includes('-j DNAT')), []);
    assert.deepEqual(rules.filter((rule) => rule.includes(`--dport ${port}`) || seen.addresses.some((address) => rule.includes(`${address}/`) || rule.includes(`${address}:`))), []);
  });
});
