import { Fault } from '../../base/fault.ts';
import type { ImageRuntimeConfig } from './image-config.ts';

/**
 * Applies `docker import -c` / `docker commit -c` changes: the Dockerfile instructions moby allows there
 * (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR).
 */
export function applyConfigChanges(base: ImageRuntimeConfig, changes: readonly string[]): ImageRuntimeConfig {
  const config: ImageRuntimeConfig = structuredClone(base);
  for (const change of changes) {
    const match = /^\s*(\w+)\s+([\s\S]*)$/.exec(change);
    if (!match) throw new Fault('invalid-argument', `dockerfile parse error: unknown instruction: ${change}`);
    applyOne(config, match[1].toUpperCase(), match[2].trim());
  }
  return config;
}

function applyOne(config: ImageRuntimeConfig, instruction: string, args: string): void {
  switch (instruction) {
    case 'CMD':
      config.Cmd = commandForm(args);
      return;
    case 'ENTRYPOINT':
      config.Entrypoint = commandForm(args);
      return;
    case 'ENV':
      for (const [k, v] of keyValues(args)) config.Env = [...(config.Env ?? []).filter((e) => !e.startsWith(`${k}=`)), `${k}=${v}`];
      return;
    case 'LABEL':
      config.Labels = { ...config.Labels, ...Object.fromEntries(keyValues(args)) };
      return;
    case 'EXPOSE':
      for (const port of args.split(/\s+/)) config.ExposedPorts = { ...config.ExposedPorts, [port.includes('/') ? port : `${port}/tcp`]: {} };
      return;
    case 'VOLUME':
      for (const v of jsonOrWords(args)) config.Volumes = { ...config.Volumes, [v]: {} };
      return;
    case 'WORKDIR':
      config.WorkingDir = args;
      return;
    case 'USER':
      config.User = args;
      return;
    case 'STOPSIGNAL':
      config.StopSignal = args;
      return;
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), args];
      return;
    default:
      throw new Fault('invalid-argument', `${instruction.toLowerCase()} is not a valid change command`);
  }
}

/** Exec form `["a","b"]` stays as is; shell form runs under `/bin/sh -c`. */
function commandForm(args: string): string[] {
  if (args.startsWith('[')) {
    try {
      const parsed = JSON.parse(args) as unknown;
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed;
    } catch {
      // not JSON: Dockerfile semantics treat it as shell form
    }
  }
  return ['/bin/sh', '-c', args];
}

function jsonOrWords(args: string): string[] {
  if (args.startsWith('[')) {
    try {
      return JSON.parse(args) as string[];
    } catch {
      // fall through to words
    }
  }
  return args.split(/\s+/).filter(Boolean);
}

/** `A=1 B="x y"` or the legacy `A 1`. */
function keyValues(args: string): [string, string][] {
  if (!args.includes('=')) {
    const [key, ...rest] = args.split(/\s+/);
    return [[key, rest.join(' ')]];
  }
  const out: [string, string][] = [];
  for (const m of args.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const raw = m[2];
    out.push([m[1], raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.startsWith("'") ? raw.slice(1, -1) : raw]);
  }
  return out;
}
