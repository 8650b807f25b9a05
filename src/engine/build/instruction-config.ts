/*
 * The metadata steps of moby's classic builder (builder/dockerfile/dispatchers.go): each changes the stage's
 * runtime config and names the change with the comment its history line carries (`ENV A=b`, `CMD ["sh"]`…).
 */
import { posix } from 'node:path';
import { Fault } from '../../base/fault.ts';
import { parseSignal } from '../containers/container-signals.ts';
import type { Instruction } from './dockerfile-parser.ts';
import { argPairs, nameValues } from './dockerfile-parser.ts';
import { goDuration, goList, goQuotedList, goQuoteRune } from './go-format.ts';
import { parseHealthcheck, type BuiltHealthcheck } from './healthcheck-instruction.ts';
import { expandWord, expandWords } from './shell-lex.ts';
import { expansionEnv, shellOf, type StageState } from './stage-state.ts';

export const metadataKeywords = new Set(['ENV', 'LABEL', 'MAINTAINER', 'CMD', 'ENTRYPOINT', 'EXPOSE', 'USER', 'VOLUME', 'STOPSIGNAL', 'ARG', 'SHELL', 'HEALTHCHECK', 'ONBUILD']);

/** Before/after text of one step, as the build prints notes about it. */
export interface MetadataResult {
  comment: string;
  /** moby's "Note: overriding previous HEALTHCHECK: …" line. */
  note?: string;
}

type Handler = (state: StageState, inst: Instruction) => MetadataResult;

const handlers: Record<string, Handler> = {
  ENV: (state, inst) => {
    const env = [...(state.config.Env ?? [])];
    const parts: string[] = [];
    for (const [key, value] of expandedPairs(state, inst)) {
      const entry = `${key}=${value}`;
      parts.push(entry);
      const at = env.findIndex((e) => e.split('=', 1)[0] === key);
      if (at >= 0) env[at] = entry;
      else env.push(entry);
    }
    state.config.Env = env;
    return { comment: `ENV ${parts.join(' ')}` };
  },
  LABEL: (state, inst) => {
    const labels = { ...state.config.Labels };
    const parts: string[] = [];
    for (const [key, value] of expandedPairs(state, inst)) {
      labels[key] = value;
      parts.push(`${key}=${value}`);
    }
    state.config.Labels = labels;
    return { comment: `LABEL ${parts.join(' ')}` };
  },
  MAINTAINER: (state, inst) => {
    state.maintainer = inst.args;
    return { comment: `MAINTAINER ${inst.args}` };
  },
  CMD: (state, inst) => {
    state.config.Cmd = commandLine(state, inst);
    if (state.config.Cmd.length) state.cmdSet = true;
    return { comment: `CMD ${goQuotedList(state.config.Cmd)}` };
  },
  ENTRYPOINT: (state, inst) => {
    state.config.Entrypoint = commandLine(state, inst);
    if (!state.cmdSet) state.config.Cmd = null;
    return { comment: `ENTRYPOINT ${goQuotedList(state.config.Entrypoint)}` };
  },
  EXPOSE: (state, inst) => {
    const env = expansionEnv(state);
    const ports = inst.args.split(/\s+/).filter(Boolean).flatMap((word) => expandWords(word, env, state.escape));
    const exposed = { ...state.config.ExposedPorts };
    for (const port of ports) for (const spec of portSpecs(port)) exposed[spec] = {};
    state.config.ExposedPorts = exposed;
    return { comment: `EXPOSE ${ports.join(' ')}` };
  },
  USER: (state, inst) => {
    state.config.User = expandWord(inst.args, expansionEnv(state), state.escape);
    return { comment: `USER ${state.config.User}` };
  },
  VOLUME: (state, inst) => {
    const env = expansionEnv(state);
    const volumes = inst.json ?? inst.args.split(/\s+/).filter(Boolean);
    const expanded = volumes.map((v) => expandWord(v, env, state.escape));
    const set = { ...state.config.Volumes };
    for (const volume of expanded) {
      if (!volume) throw new Fault('invalid-argument', 'VOLUME specified can not be an empty string');
      set[volume] = {};
    }
    state.config.Volumes = set;
    return { comment: `VOLUME ${goList(expanded)}` };
  },
  STOPSIGNAL: (state, inst) => {
    const signal = expandWord(inst.args, expansionEnv(state), state.escape);
    parseSignal(signal);
    state.config.StopSignal = signal;
    return { comment: `STOPSIGNAL ${signal}` };
  },
  ARG: (state, inst) => {
    const parts: string[] = [];
    for (const [key, value] of expandedArgs(state, inst)) {
      parts.push(value === undefined ? key : `${key}=${value}`);
      state.args.addArg(key, value);
    }
    return { comment: `ARG ${parts.join(' ')}` };
  },
  SHELL: (state, inst) => {
    if (!inst.json) throw new Fault('invalid-argument', 'SHELL requires the arguments to be in JSON form');
    state.config.Shell = [...inst.json];
    return { comment: `SHELL ${goList(state.config.Shell)}` };
  },
  HEALTHCHECK: (state, inst) => {
    const old = (state.config.Healthcheck as BuiltHealthcheck | undefined)?.Test;
    const note = old?.length && old[0] !== 'NONE' ? `Note: overriding previous HEALTHCHECK: ${goList(old)}\n` : undefined;
    const health = parseHealthcheck(inst);
    state.config.Healthcheck = health;
    return { comment: `HEALTHCHECK ${healthcheckText(health)}`, note };
  },
  ONBUILD: (state, inst) => {
    const expression = onbuildExpression(inst);
    state.config.OnBuild = [...(state.config.OnBuild ?? []), expression];
    return { comment: `ONBUILD ${expression}` };
  },
};

/** Applies a metadata instruction to the stage's config; returns the comment its history line carries. */
export function applyMetadata(state: StageState, inst: Instruction): MetadataResult {
  const handler = handlers[inst.keyword];
  if (!handler) throw new Fault('invalid-argument', `unsupported command type: ${inst.keyword}`);
  return handler(state, inst);
}

/** WORKDIR's new directory: relative paths join the current one (moby's normalizeWorkdir). */
export function workdirOf(state: StageState, inst: Instruction): string {
  const requested = expandWord(inst.args, expansionEnv(state), state.escape);
  if (!requested) throw new Fault('invalid-argument', 'cannot normalize nothing');
  return requested.startsWith('/') ? requested : posix.join('/', state.config.WorkingDir ?? '', requested);
}

/** CMD, ENTRYPOINT and RUN: the exec form as written, or the shell form after the stage's shell. */
export function commandLine(state: StageState, inst: Instruction): string[] {
  if (inst.json) return [...inst.json];
  return [...shellOf(state.config), inst.args];
}

/** The text after `ONBUILD` as written: what the image keeps and the child parses again. */
export function onbuildExpression(inst: Instruction): string {
  return inst.trigger?.original ?? inst.original.replace(/^\s*onbuild\s*/i, '');
}

function expandedPairs(state: StageState, inst: Instruction): [string, string][] {
  const env = expansionEnv(state);
  return nameValues(inst, state.escape).map(([key, value]) => [expandWord(key, env, state.escape), expandWord(value, env, state.escape)]);
}

/** ARG pairs: `ARG NAME` declares without a default (undefined), `ARG NAME=` with an empty one. */
function expandedArgs(state: StageState, inst: Instruction): [string, string | undefined][] {
  const env = expansionEnv(state);
  return argPairs(inst, state.escape).map(({ name, value }) => [expandWord(name, env, state.escape), value === undefined ? undefined : expandWord(value, env, state.escape)]);
}

/** nat.ParsePortSpecs for EXPOSE: `80`, `80/udp`, `8000-8002/tcp`. */
function portSpecs(spec: string): string[] {
  const [range, proto = 'tcp', extra] = spec.split('/');
  if (extra !== undefined || !['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw new Fault('invalid-argument', `invalid proto: ${proto}`);
  const match = /^(\d+)(?:-(\d+))?$/.exec(range);
  if (!match) throw new Fault('invalid-argument', `Invalid containerPort: ${range}`);
  const start = Number(match[1]);
  const end = Number(match[2] ?? match[1]);
  if (start > 65535 || end > 65535) throw new Fault('invalid-argument', `Invalid containerPort: ${range}`);
  if (end < start) throw new Fault('invalid-argument', `Invalid range specified for the Port: ${range}`);
  return Array.from({ length: end - start + 1 }, (_, i) => `${start + i}/${proto.toLowerCase()}`);
}

/** `%q` of moby 20.10's *HealthConfig: `&{["CMD-SHELL" "x"] "1s" "2s" "0s" '\x02'}`. */
function healthcheckText(health: BuiltHealthcheck): string {
  const d = (ns: number | undefined) => JSON.stringify(goDuration(ns ?? 0));
  return `&{${goQuotedList(health.Test)} ${d(health.Interval)} ${d(health.Timeout)} ${d(health.StartPeriod)} ${goQuoteRune(health.Retries ?? 0)}}`;
}
