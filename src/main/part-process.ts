import type { Config } from '../base/config.ts';
import { createLogger, type Logger } from '../base/log.ts';
import { type PartMessage, type SupervisedPartName, supervisorMessage } from './part-messages.ts';
import { type RunningWharf, startWharf } from './start-wharf.ts';

/** With the supervisor gone nobody will SIGKILL a part that hangs while closing, so it bounds itself. */
const orphanGraceMs = 15_000;

interface PartState {
  running?: RunningWharf;
  logger?: Logger;
  stopping?: boolean;
}

/**
 * The body of one part's process under `wharf serve`: start the part the supervisor names, report ready (or why
 * it failed), and stop when told to or when the IPC channel to the supervisor closes.
 */
export function runPartProcess(): void {
  if (!process.send) throw new Error('a wharf part process is started by `wharf serve`, with an IPC channel');
  const state: PartState = {};
  // A part takes orders from its supervisor only: a signal sent to the whole process group (Ctrl-C, timeout,
  // systemd's control-group kill) reaches the supervisor too, which stops the parts in order.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // The channel closes when the supervisor dies, even by SIGKILL: a part never outlives it.
  process.once('disconnect', () => stopPart(state, 'supervisor gone'));
  process.on('message', (raw: unknown) => {
    const parsed = supervisorMessage.safeParse(raw);
    if (!parsed.success) return void process.stderr.write(`wharf part: unknown message from the supervisor: ${JSON.stringify(raw)}\n`);
    const message = parsed.data;
    if (message.type === 'stop') stopPart(state, 'stopped by the supervisor');
    else void bootPart(message.part, message.config, state);
  });
}

async function bootPart(part: SupervisedPartName, config: Config, state: PartState): Promise<void> {
  const logger = createLogger({ level: config.log.level }).child({ part });
  state.logger = logger;
  // Logged with the part named before node prints the trace and exits.
  process.on('uncaughtExceptionMonitor', (err, origin) => logger.fatal({ err, origin }, 'part crashed'));
  try {
    state.running = await startWharf(config, { parts: [part], logger });
  } catch (err) {
    logger.error({ err }, 'part failed to start');
    return report({ type: 'failed', message: err instanceof Error ? err.message : String(err) }, () => process.exit(1));
  }
  if (state.stopping) return closeAndExit(state);
  report({ type: 'ready', registryUrl: state.running.registryUrl, engineSocket: state.running.engineSocket });
}

function stopPart(state: PartState, reason: string): void {
  if (state.stopping) return;
  state.stopping = true;
  state.logger?.info({ reason }, 'part stopping');
  setTimeout(() => process.exit(1), orphanGraceMs).unref();
  // Still starting: bootPart closes what it opened once startWharf returns.
  if (state.running) closeAndExit(state);
  else if (!state.logger) process.exit(1);
}

function closeAndExit(state: PartState): void {
  state.running?.close().then(
    () => process.exit(0),
    (err: unknown) => {
      state.logger?.error({ err }, 'part did not close cleanly');
      process.exit(1);
    },
  );
}

function report(message: PartMessage, then?: () => void): void {
  if (!process.connected) return void then?.();
  process.send?.(message, undefined, {}, () => then?.());
}
