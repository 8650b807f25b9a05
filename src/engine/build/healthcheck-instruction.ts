import { Fault } from '../../base/fault.ts';
import { parseGoDuration } from '../../base/go-parse.ts';

/** What HEALTHCHECK puts in the image config (moby's container.HealthConfig; durations in nanoseconds). */
export interface BuiltHealthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

const durationFlags: Record<string, 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval'> = {
  interval: 'Interval',
  timeout: 'Timeout',
  'start-period': 'StartPeriod',
  'start-interval': 'StartInterval',
};

/**
 * moby's HEALTHCHECK (buildkit's parseHealthcheck): `NONE`, or `CMD command` (shell form: CMD-SHELL) /
 * `CMD ["exe", …]` (exec form: CMD), with the flags the Dockerfile parser already split off.
 */
export function parseHealthcheck(inst: { flags: Record<string, string>; args: string }): BuiltHealthcheck {
  const [, kind = '', command = ''] = /^(\S*)\s*([\s\S]*)$/.exec(inst.args.trim()) ?? [];
  if (kind.toUpperCase() === 'NONE') {
    if (command || Object.keys(inst.flags).length) throw new Fault('invalid-argument', 'HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind.toUpperCase() !== 'CMD') throw new Fault('invalid-argument', `Unknown type "${kind.toUpperCase()}" in HEALTHCHECK (try CMD)`);
  if (!command) throw new Fault('invalid-argument', 'Missing command after HEALTHCHECK CMD');
  const exec = jsonStrings(command);
  const health: BuiltHealthcheck = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', command] };
  for (const [name, value] of Object.entries(inst.flags)) applyFlag(health, name, value);
  return health;
}

/** The exec form: a JSON array of strings. */
function jsonStrings(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function applyFlag(health: BuiltHealthcheck, name: string, value: string): void {
  if (name === 'retries') {
    if (!/^-?\d+$/.test(value)) throw new Fault('invalid-argument', `strconv.ParseInt: parsing "${value}": invalid syntax`);
    const retries = Number(value);
    if (retries < 0) throw new Fault('invalid-argument', `--retries cannot be negative (${retries})`);
    if (retries > 0) health.Retries = retries;
    return;
  }
  const field = durationFlags[name];
  if (!field) throw new Fault('invalid-argument', `Unknown flag: ${name}`);
  const ns = parseGoDuration(value);
  if (ns === undefined) throw new Fault('invalid-argument', `time: invalid duration "${value}"`);
  if (ns !== 0 && ns < 1e6) throw new Fault('invalid-argument', `Interval "${name}" cannot be less than 1ms`);
  health[field] = ns;
}
