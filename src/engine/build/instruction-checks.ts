import type { Node } from './dockerfile-nodes.ts';
import { type FlagKind, InstructionError, parseFlags } from './instruction-flags.ts';

const noFlags: Record<string, FlagKind> = {};
const healthFlags: Record<string, FlagKind> = {
  interval: 'string',
  timeout: 'string',
  'start-period': 'string',
  'start-interval': 'string',
  retries: 'string',
};

const atLeastOne = (keyword: string) => new InstructionError(`${keyword} requires at least one argument`);
const exactlyOne = (keyword: string) => new InstructionError(`${keyword} requires exactly one argument`);
const noDestination = (keyword: string) =>
  new InstructionError(`${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);

type Check = (node: Node) => Record<string, string>;

function exactlyOneArg(keyword: string): Check {
  return (node) => {
    if (node.words.length !== 1) throw exactlyOne(keyword);
    return parseFlags(node.flags, noFlags);
  };
}

function atLeastOneArg(keyword: string): Check {
  return (node) => {
    if (!node.words.length) throw atLeastOne(keyword);
    return parseFlags(node.flags, noFlags);
  };
}

function keyValues(keyword: string): Check {
  return (node) => {
    const flags = parseFlags(node.flags, noFlags);
    if (!node.words.length) throw atLeastOne(keyword);
    for (let i = 0; i < node.words.length; i += 2) if (node.words[i] === '') throw new InstructionError(`${keyword} names can not be blank`);
    return flags;
  };
}

function copyLike(keyword: string, allowed: Record<string, FlagKind>): Check {
  return (node) => {
    if (node.words.length < 2) throw noDestination(keyword);
    return parseFlags(node.flags, allowed);
  };
}

const checkFrom: Check = (node) => {
  const [, as, name] = node.words;
  if (node.words.length === 3 && as.toLowerCase() === 'as') {
    if (!/^[a-z][a-z0-9-_.]*$/.test(name.toLowerCase())) {
      throw new InstructionError(`invalid name for build stage: ${JSON.stringify(name)}, name can't start with a number or contain symbols`);
    }
  } else if (node.words.length !== 1) throw new InstructionError('FROM requires either one or three arguments');
  return parseFlags(node.flags, { platform: 'string' });
};

const checkOnbuild: Check = (node) => {
  if (!node.words.length) throw atLeastOne('ONBUILD');
  const flags = parseFlags(node.flags, noFlags);
  const trigger = node.words[0].trim().toUpperCase();
  if (trigger === 'ONBUILD') throw new InstructionError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new InstructionError(`${trigger} isn't allowed as an ONBUILD trigger`);
  return flags;
};

/** The classic builder runs RUN without BuildKit: moby 20.10 knows `--mount` and refuses it by name. */
const checkRun: Check = (node) => {
  const flags = parseFlags(node.flags, { mount: 'strings' });
  const used = Object.keys(flags)[0];
  if (used) {
    throw new InstructionError(
      `the --${used} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`,
      true,
    );
  }
  return flags;
};

const checkHealthcheck: Check = (node) => {
  if (!node.words.length) throw atLeastOne('HEALTHCHECK');
  const type = node.words[0].toUpperCase();
  if (type === 'NONE' && node.words.length > 1) throw new InstructionError('HEALTHCHECK NONE takes no arguments');
  const flags = parseFlags(node.flags, healthFlags);
  if (type === 'NONE') return flags;
  if (type !== 'CMD') throw new InstructionError(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  if (node.words.length < 2) throw new InstructionError('Missing command after HEALTHCHECK CMD');
  return flags;
};

const checkVolume: Check = (node) => {
  const flags = atLeastOneArg('VOLUME')(node);
  if (node.words.some((v) => v.trim() === '')) throw new InstructionError('VOLUME specified can not be an empty string');
  return flags;
};

const checkArg: Check = (node) => {
  const flags = atLeastOneArg('ARG')(node);
  if (node.words.some((word) => word.startsWith('='))) throw new InstructionError('ARG names can not be blank');
  return flags;
};

const checkShell: Check = (node) => {
  const flags = parseFlags(node.flags, noFlags);
  if (!node.words.length) throw atLeastOne('SHELL');
  if (!node.json) throw new InstructionError('SHELL requires the arguments to be in JSON form');
  return flags;
};

// moby's instructions.ParseInstruction, keyword by keyword, in its order of checks. Flags moby leaves unparsed
// (STOPSIGNAL, ARG) are refused here rather than silently dropped.
const checks: Record<string, Check> = {
  env: keyValues('ENV'),
  maintainer: exactlyOneArg('MAINTAINER'),
  label: keyValues('LABEL'),
  add: copyLike('ADD', { chown: 'string', chmod: 'string' }),
  copy: copyLike('COPY', { chown: 'string', from: 'string', chmod: 'string', link: 'bool' }),
  from: checkFrom,
  onbuild: checkOnbuild,
  workdir: exactlyOneArg('WORKDIR'),
  run: checkRun,
  cmd: (node) => parseFlags(node.flags, noFlags),
  healthcheck: checkHealthcheck,
  entrypoint: (node) => parseFlags(node.flags, noFlags),
  expose: atLeastOneArg('EXPOSE'),
  user: exactlyOneArg('USER'),
  volume: checkVolume,
  stopsignal: exactlyOneArg('STOPSIGNAL'),
  arg: checkArg,
  shell: checkShell,
};

/** The instruction's flags once moby's second phase accepts the node; InstructionError with its wording if not. */
export function checkInstruction(node: Node): Record<string, string> {
  if (!Object.hasOwn(checks, node.cmd)) throw new InstructionError(`unknown instruction: ${node.cmd.toUpperCase()}`);
  return checks[node.cmd](node);
}
