import { z } from 'zod';
import { configSchema } from '../base/config.ts';

/**
 * The IPC protocol between `wharf serve` (the supervisor) and one part's process. The supervisor resolves the
 * config once (file, WHARF_* env, flags) and hands the result over, so a part reads neither env nor files for it.
 */
export const partNames = ['registry', 'engine'] as const;
export type SupervisedPartName = (typeof partNames)[number];

export const supervisorMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), part: z.enum(partNames), config: configSchema }),
  // Stops go over IPC, not SIGTERM: a signal sent to the whole group (Ctrl-C, timeout, systemd) reaches every
  // part at once and would break the supervisor's order.
  z.object({ type: z.literal('stop') }),
]);
export type SupervisorMessage = z.infer<typeof supervisorMessage>;

export const partMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), registryUrl: z.string().optional(), engineSocket: z.string().optional() }),
  z.object({ type: z.literal('failed'), message: z.string() }),
]);
export type PartMessage = z.infer<typeof partMessage>;
export type PartReady = Extract<PartMessage, { type: 'ready' }>;
