import { join } from 'node:path';
import type { Config } from '../base/config.ts';
import { Fault } from '../base/fault.ts';
import { createLogger, type Logger } from '../base/log.ts';
import { formatHostPort, parseListenAddress } from '../base/listen-address.ts';
import type { SupervisedPartName } from './part-messages.ts';
import { enabledParts } from './start-wharf.ts';
import { SupervisedPart } from './supervised-part.ts';

export interface SupervisorOptions {
  logger?: Logger;
}

export interface RunningSupervisor {
  registryUrl?: string;
  engineSocket?: string;
  /** Stops the parts in reverse start order: the engine first, then the registry. */
  close(): Promise<void>;
}

/** The registry's own close cuts stalled clients after 10 s; the engine kills its containers and waits for them. */
const stopGraceMs: Record<SupervisedPartName, number> = { registry: 15_000, engine: 20_000 };

const partEntry = join(import.meta.dirname, 'part-entry.ts');

/**
 * `wharf serve`: every enabled part in its own process, so an engine crash never takes the registry down. A part
 * that fails before it was ever ready fails the whole start (a bad config or a taken port must not retry
 * silently); afterwards a part that dies is restarted with backoff while the others keep serving.
 */
export async function startSupervisor(config: Config, options: SupervisorOptions = {}): Promise<RunningSupervisor> {
  const logger = (options.logger ?? createLogger({ level: config.log.level })).child({ part: 'supervisor' });
  const names = enabledParts(config).filter((name): name is SupervisedPartName => name !== 'token');
  if (config.engine.enabled && !names.includes('engine')) logger.warn('engine not started: runc not found');
  if (!names.length) throw new Fault('failed-precondition', 'nothing to serve: the registry is disabled, and the engine is disabled or runc is missing');
  let partConfig = config;
  const parts = names.map(
    (part) => new SupervisedPart({ part, config: () => partConfig, entry: partEntry, logger, stopGraceMs: stopGraceMs[part] }),
  );
  const stopAll = async () => {
    for (const part of [...parts].reverse()) await part.stop();
  };
  const results = await Promise.allSettled(parts.map((part) => part.start()));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  const ready = results.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
  const registryUrl = ready.find((part) => part?.registryUrl)?.registryUrl;
  const engineSocket = ready.find((part) => part?.engineSocket)?.engineSocket;
  partConfig = pinRegistryPort(config, registryUrl);
  logger.info({ registryUrl, engineSocket }, 'wharf serving');
  return {
    registryUrl,
    engineSocket,
    close: async () => {
      logger.info('stopping every part');
      await stopAll();
      logger.info('every part stopped');
    },
  };
}

/** `--addr 127.0.0.1:0` picks a port once: a restarted registry comes back where clients already point. */
function pinRegistryPort(config: Config, registryUrl: string | undefined): Config {
  const { host, port } = parseListenAddress(config.registry.addr);
  if (port !== 0 || !registryUrl) return config;
  const bound = new URL(registryUrl).port;
  const addr = formatHostPort(host, bound);
  return { ...config, registry: { ...config.registry, addr } };
}
