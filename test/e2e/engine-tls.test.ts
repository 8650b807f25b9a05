import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { run, runOk } from '../support/run.ts';
import { wharfBin } from '../support/wharf.ts';
import { runDocker } from './engine-harness.ts';

// Loopback registries are insecure by default (moby's 127.0.0.0/8), so certificate checks only happen for a
// registry elsewhere. Everything here runs in a network namespace of the test's own, whose loopback also carries
// 192.0.2.1 (TEST-NET-1): two wharf registries (https with a generated CA, plain http) and an engine, all real
// processes; the docker CLI reaches the engine through its unix socket from outside the namespace.
describe('docker pull over https with a CA, and insecure registries', () => {
  const ns = `wharf-tls-${process.pid}`;
  const address = '192.0.2.1';
  const secure = `${address}:5443`;
  const plain = `${address}:5000`;
  const unlisted = `${address}:5001`;
  const children: ChildProcess[] = [];
  let dir: string;
  let env: Record<string, string>;
  let image: RandomLayerImage;
  /** skopeo compresses the layout's plain tar layer on push, so the manifest digest is the registry's. */
  let pushedDigest: string;

  const inNs = (args: string[]) => ['netns', 'exec', ns, ...args];
  const docker = (args: string[]) => runDocker(args, env, { timeoutMs: 60_000 });

  function start(args: string[]): void {
    const child = spawn('ip', inNs([wharfBin, ...args, '--log-level', 'warn']), { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
  }

  async function waitUntil(what: string, ready: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 150; i++) {
      if (await ready()) return;
      await sleep(100);
    }
    throw new Error(`${what} did not come up`);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-engine-tls-'));
    await runOk('ip', ['netns', 'add', ns]);
    await runOk('ip', inNs(['ip', 'link', 'set', 'lo', 'up']));
    await runOk('ip', inNs(['ip', 'addr', 'add', `${address}/32`, 'dev', 'lo']));
    await runOk(wharfBin, ['cert', 'generate', '--out', join(dir, 'certs'), '--host', address]);
    mkdirSync(join(dir, 'trust'));
    copyFileSync(join(dir, 'certs', 'ca.crt'), join(dir, 'trust', 'ca.crt'));
    const tls = ['--tls-cert', join(dir, 'certs', 'server.crt'), '--tls-key', join(dir, 'certs', 'server.key')];
    start(['registry', 'serve', '--addr', secure, '--root', join(dir, 'secure'), ...tls]);
    start(['registry', 'serve', '--addr', plain, '--root', join(dir, 'plain')]);
    start(['registry', 'serve', '--addr', unlisted, '--root', join(dir, 'unlisted')]);
    writeFileSync(join(dir, 'engine.yaml'), `engine:\n  insecureRegistries: ["${plain}"]\n`);
    const socket = join(dir, 'engine.sock');
    start(['engine', 'serve', '--config', join(dir, 'engine.yaml'), '--socket', socket, '--root', join(dir, 'engine-root')]);
    env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'cli') };
    const up = (url: string, extra: string[] = []) => async () => (await run('ip', inNs(['curl', '-sf', ...extra, url]))).code === 0;
    await waitUntil('https registry', up(`https://${secure}/v2/`, ['--cacert', join(dir, 'certs', 'ca.crt')]));
    await waitUntil('http registry', up(`http://${plain}/v2/`));
    await waitUntil('unlisted registry', up(`http://${unlisted}/v2/`));
    await waitUntil('engine', async () => (await docker(['version'])).code === 0);
    image = await makeRandomLayerImage(join(dir, 'image'), { layerBytes: 256 * 1024, format: 'oci', tag: 'v1' });
    await runOk('ip', inNs(['skopeo', 'copy', '--dest-cert-dir', join(dir, 'trust'), image.ref, `docker://${secure}/team/app:v1`]));
    const inspected = await runOk('ip', inNs(['skopeo', 'inspect', '--cert-dir', join(dir, 'trust'), `docker://${secure}/team/app:v1`]));
    pushedDigest = (JSON.parse(inspected) as { Digest: string }).Digest;
    for (const host of [plain, unlisted]) {
      await runOk('ip', inNs(['skopeo', 'copy', '--dest-tls-verify=false', image.ref, `docker://${host}/team/app:v1`]));
    }
  });

  after(async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await run('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('an unknown CA is refused with moby’s words; a ca.crt in certs.d is trusted without a restart', async () => {
    const refused = await docker(['pull', `${secure}/team/app:v1`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Get "https:\/\/192\.0\.2\.1:5443\/v2\/.*": tls: failed to verify certificate: x509: certificate signed by unknown authority/);
    mkdirSync(join(dir, 'engine-root', 'engine', 'certs.d', secure), { recursive: true });
    copyFileSync(join(dir, 'certs', 'ca.crt'), join(dir, 'engine-root', 'engine', 'certs.d', secure, 'ca.crt'));
    const pulled = await docker(['pull', `${secure}/team/app:v1`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, new RegExp(`Digest: ${pushedDigest}`));
    assert.equal((await docker(['image', 'inspect', '-f', '{{.Id}}', `${secure}/team/app:v1`])).stdout.trim(), image.configDigest);
  });

  test('plain http only for a registry listed in engine.insecureRegistries', async () => {
    const listed = await docker(['pull', `${plain}/team/app:v1`]);
    assert.equal(listed.code, 0, listed.stderr);
    const refused = await docker(['pull', `${unlisted}/team/app:v1`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /http: server gave HTTP response to HTTPS client/);
    const info = await docker(['info']);
    assert.match(info.stdout, new RegExp(`Insecure Registries:\\n\\s+${plain.replace(/\./g, '\\.')}\\n\\s+127\\.0\\.0\\.0/8`));
  });
});
