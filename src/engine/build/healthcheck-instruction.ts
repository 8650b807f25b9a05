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
 * moby's dispatchHealthcheck (builder/dockerfile/dispatchers.go): `HEALTHCHECK NONE`, or flags then
 * `CMD command` (shell form: CMD-SHELL) / `CMD ["exe", …]` (exec form: CMD). `execForm` parses a JSON array.
 */
export function parseHealthcheck(args: string, execForm: (text: string) => string[] | undefined): BuiltHealthcheck {
  let rest = args.trim();
  const flags: Record<string, string> = {};
  for (let flag = /^--([a-z-]+)=(\S*)\s*/.exec(rest); flag; flag = /^--([a-z-]+)=(\S*)\s*/.exec(rest)) {
    flags[flag[1]] = flag[2];
    rest = rest.slice(flag[0].length);
  }
  const [, kind = '', command = ''] = /^(\S*)\s*([\s\S]*)$/.exec(rest) ?? [];
  if (kind.toUpperCase() === 'NONE') {
    if (command || Object.keys(flags).length) throw new Fault('invalid-argument', 'HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind.toUpperCase() !== 'CMD') throw new Fault('invalid-argument', `Unknown type "${kind.toUpperCase()}" in HEALTHCHECK (try CMD)`);
  if (!command) throw new Fault('invalid-argument', 'Missing command after HEALTHCHECK CMD');
  const exec = execForm(command);
  const health: BuiltHealthcheck = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', command] };
  for (const [name, value] of Object.entries(flags)) applyFlag(health, name, value);
  return health;
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
