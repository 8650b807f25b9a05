import { randomInt } from 'node:crypto';
import { run, runOk } from './run.ts';

export interface ShapedLink {
  /** The network namespace at the far end, for `ip netns exec`. */
  netns: string;
  /** The far end's address (in the namespace), reachable from the host over the link. */
  farAddress: string;
  close(): Promise<void>;
}

/**
 * A network link of a given rate between the host and a namespace of its own, for a server that should be as far
 * away as a real upstream (across a datacenter link, not loopback): a veth pair whose both ends send through a
 * token bucket (`tc qdisc tbf`) at `mbit`. Only the pair and the namespace are created, in RFC 2544's benchmark
 * range (198.19.0.0/16); nothing of the host's own network changes, and close removes both.
 */
export async function startShapedLink(options: { mbit: number }): Promise<ShapedLink> {
  const id = `${process.pid % 10000}${randomInt(100)}`;
  const netns = `wharf-link-${id}`;
  const hostEnd = `wlh${id}`;
  const farEnd = `wln${id}`;
  const subnet = randomInt(1, 255);
  const hostAddress = `198.19.${subnet}.1`;
  const farAddress = `198.19.${subnet}.2`;
  // A bucket of 1 ms at the rate (at least 64 KiB, one GSO packet), queueing at most 50 ms.
  const burst = Math.max(64 * 1024, Math.ceil((options.mbit * 1e6) / 8 / 1000));
  const shape = (dev: string) => ['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${options.mbit}mbit`, 'burst', String(burst), 'latency', '50ms'];
  const close = async () => {
    await run('ip', ['link', 'del', hostEnd]);
    await run('ip', ['netns', 'del', netns]);
  };
  try {
    await runOk('ip', ['netns', 'add', netns]);
    await runOk('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', farEnd]);
    await runOk('ip', ['link', 'set', farEnd, 'netns', netns]);
    await runOk('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostEnd]);
    await runOk('ip', ['link', 'set', hostEnd, 'up']);
    await runOk('ip', ['-n', netns, 'addr', 'add', `${farAddress}/30`, 'dev', farEnd]);
    await runOk('ip', ['-n', netns, 'link', 'set', farEnd, 'up']);
    await runOk('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await runOk('tc', shape(hostEnd));
    await runOk('ip', ['netns', 'exec', netns, 'tc', ...shape(farEnd)]);
  } catch (err) {
    await close();
    throw err;
  }
  return { netns, farAddress, close };
}
