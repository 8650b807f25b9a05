import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { run, runOk } from './run.ts';

/** What a test may change on the host's network only while it runs: link names, firewall rules, forwarding. */
export interface HostNetwork {
  links: string[];
  /** iptables-save and ip6tables-save of every table, without counters or timestamps. */
  rules: string;
  sysctls: Record<string, string>;
}

// Sysctls dockerd's bridge driver writes when allowed to (setupIPForwarding, setupBridgeNetFiltering).
const watchedSysctls = [
  'net/ipv4/ip_forward',
  'net/ipv6/conf/all/forwarding',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
];

export async function hostNetwork(): Promise<HostNetwork> {
  const links = JSON.parse(await runOk('ip', ['-j', 'link', 'show'])) as { ifname: string }[];
  const saves = await Promise.all(['iptables-save', 'ip6tables-save'].map((tool) => runOk(tool, [])));
  const rules = saves
    .join('\n')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.replace(/ \[\d+:\d+\]$/, ''))
    .join('\n');
  const sysctls = Object.fromEntries(
    watchedSysctls.map((key) => [key, existsSync(`/proc/sys/${key}`) ? readFileSync(`/proc/sys/${key}`, 'utf8').trim() : 'absent']),
  );
  return { links: links.map((l) => l.ifname).sort(), rules, sysctls };
}

export interface TestBridge {
  name: string;
  /** The bridge's own address with its prefix, e.g. 198.18.7.1/24. */
  address: string;
  remove(): Promise<void>;
  /** For process-exit handlers, where nothing asynchronous runs any more. */
  removeSync(): void;
}

/**
 * A Linux bridge of the caller's own with a private /24 from 198.18.0.0/15 (RFC 2544, never routed), for a
 * private dockerd: `--bridge=none` would delete the host's `docker0`, a named bridge leaves every other link be.
 * `name` must fit IFNAMSIZ (15 characters).
 */
export async function createTestBridge(name: string): Promise<TestBridge> {
  if (name.length > 15) throw new Error(`bridge name ${name} is longer than 15 characters`);
  const used = await runOk('ip', ['-4', '-o', 'addr', 'show']) + (await runOk('ip', ['-4', 'route', 'show']));
  const start = randomInt(512);
  const free = Array.from({ length: 512 }, (_, i) => (start + i) % 512)
    .map((n) => `198.${18 + (n >> 8)}.${n & 255}`)
    .find((prefix) => !used.includes(`${prefix}.`));
  if (!free) throw new Error('no free /24 in 198.18.0.0/15 for a test bridge');
  const address = `${free}.1/24`;
  await runOk('ip', ['link', 'add', name, 'type', 'bridge']);
  const remove = async () => {
    const result = await run('ip', ['link', 'del', name]);
    if (result.code !== 0 && !/Cannot find device/.test(result.stderr)) throw new Error(`ip link del ${name}: ${result.stderr}`);
  };
  try {
    await runOk('ip', ['addr', 'add', address, 'dev', name]);
  } catch (err) {
    await remove();
    throw err;
  }
  return { name, address, remove, removeSync: () => void spawnSync('ip', ['link', 'del', name]) };
}
