import { constants } from 'node:os';
import { Fault } from '../../base/fault.ts';

const signals = constants.signals as Record<string, number>;
const realtimeMin = 34;
const realtimeMax = 64;

export interface ParsedSignal {
  /** `SIGTERM` */
  name: string;
  number: number;
}

/** moby's signal.ParseSignal: `KILL`, `SIGKILL`, `sigkill` and `9` all name SIGKILL; RTMIN+n too. */
export function parseSignal(input: string | number): ParsedSignal {
  const text = String(input).trim();
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    const name = Object.keys(signals).find((k) => signals[k] === number);
    if (name) return { name, number };
    if (number >= realtimeMin && number <= realtimeMax) return { name: `SIGRTMIN+${number - realtimeMin}`, number };
    throw new Fault('invalid-argument', `Invalid signal: ${text}`);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (signals[name] !== undefined) return { name, number: signals[name] };
  const rt = /^SIGRTMIN(?:\+(\d+))?$|^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const number = rt[0].startsWith('SIGRTMIN') ? realtimeMin + Number(rt[1] ?? 0) : realtimeMax - Number(rt[2] ?? 0);
    if (number >= realtimeMin && number <= realtimeMax) return { name, number };
  }
  throw new Fault('invalid-argument', `Invalid signal: ${text}`);
}
