import { Fault } from '../../base/fault.ts';
import { parseNameVal, parseWords } from './dockerfile-args.ts';
import { goTrim } from './go-text.ts';
import { LineError, splitLines } from './dockerfile-lines.ts';
import { type Node, parseNode } from './dockerfile-nodes.ts';
import { checkInstruction } from './instruction-checks.ts';
import { InstructionError } from './instruction-flags.ts';

export interface Instruction {
  /** Upper-cased: 'RUN' (lowercase in the file is allowed). */
  keyword: string;
  /** `--chown=1:1` -> { chown: '1:1' }; a bare `--link` -> { link: 'true' }. */
  flags: Record<string, string>;
  /** The text after the flags, continuations joined, trimmed. */
  args: string;
  /** The arguments as a JSON array of strings (exec form), when they are one (HEALTHCHECK: the command's). */
  json?: string[];
  /** What moby prints after "Step i/n : " (for an ONBUILD trigger: the text moby stores in the image's OnBuild). */
  original: string;
  /** 1-based line of the keyword. */
  line: number;
  /** ONBUILD's nested instruction. */
  trigger?: Instruction;
}

export interface Stage {
  index: number;
  /** `FROM image AS name`, lower-cased. */
  name?: string;
  /** The image as written (ARGs not expanded). */
  base: string;
  platform?: string;
  from: Instruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  escape: string;
  /** ARG instructions before the first FROM. */
  metaArgs: Instruction[];
  stages: Stage[];
  /** moby's parser warnings (empty continuation lines), printed to the build's output before the steps. */
  warnings: string[];
}

/**
 * The classic builder's two phases: buildkit's parser.Parse (directives, continuations, line syntax; its errors
 * read "failed to parse <name>: …") and instructions.Parse (keywords, flags, argument counts, stages; "dockerfile
 * parse error line N: …"). `name` is the Dockerfile's name as the client gave it. Fault('invalid-argument').
 */
export function parseDockerfile(text: string, name = 'Dockerfile'): Dockerfile {
  if (text === '') throw new Fault('invalid-argument', `the Dockerfile (${name}) cannot be empty`);
  let split: ReturnType<typeof splitLines>;
  let nodes: { node: Node; line: number }[];
  try {
    split = splitLines(text);
    nodes = split.lines.map((line) => ({ node: parseNode(line.text, split.escape), line: line.line }));
  } catch (err) {
    if (err instanceof LineError) throw new Fault('invalid-argument', `failed to parse ${name}: ${err.message}`);
    throw err;
  }
  return { escape: split.escape, ...group(nodes), warnings: split.warnings };
}

/**
 * One instruction on its own, as moby re-parses an ONBUILD trigger from an image (dispatchTriggeredOnBuild):
 * errors carry no line and no file name.
 */
export function parseInstruction(text: string, escape = '\\'): Instruction {
  let node: Node;
  try {
    const split = splitLines(text);
    if (split.lines.length !== 1) throw new Fault('invalid-argument', 'onbuild trigger should be a single expression');
    node = parseNode(split.lines[0].text, escape);
  } catch (err) {
    if (err instanceof LineError) throw new Fault('invalid-argument', err.message);
    throw err;
  }
  if (node.cmd === 'from') throw new Fault('invalid-argument', '*instructions.Stage is not a command type');
  try {
    return toInstruction(node, 1);
  } catch (err) {
    if (err instanceof InstructionError) throw new Fault('invalid-argument', err.message);
    throw err;
  }
}

/**
 * ENV and LABEL pairs (`K V` or `K=V …`) and ARG's (a name alone has the value ''), quotes and escapes kept:
 * expandWord of each half gives the final text, as moby expands them.
 */
export function nameValues(inst: Instruction, escape: string): [string, string][] {
  return argPairs(inst, escape).map(({ name, value }) => [name, value ?? '']);
}

/** ARG's declarations: `name` (no default: value undefined) or `name=default`; ENV and LABEL as nameValues. */
export function argPairs(inst: Instruction, escape: string): { name: string; value?: string }[] {
  if (inst.keyword !== 'ARG') return parseNameVal(inst.args, inst.keyword, escape).map(([name, value]) => ({ name, value }));
  return parseWords(inst.args, escape).map((word) => {
    const eq = word.indexOf('=');
    return eq < 0 ? { name: word } : { name: word.slice(0, eq), value: word.slice(eq + 1) };
  });
}

function located(node: Node, line: number): Instruction {
  try {
    return toInstruction(node, line);
  } catch (err) {
    if (!(err instanceof InstructionError)) throw err;
    throw new Fault('invalid-argument', err.bare ? err.message : `dockerfile parse error line ${line}: ${err.message}`);
  }
}

function toInstruction(node: Node, line: number): Instruction {
  const flags = checkInstruction(node);
  const inst: Instruction = { keyword: node.cmd.toUpperCase(), flags, args: node.rest, original: goTrim(node.original), line };
  if (node.json) inst.json = node.cmd === 'healthcheck' ? node.words.slice(1) : node.words;
  if (node.child) inst.trigger = triggerOf(node, line);
  return inst;
}

/** The trigger as moby stores it: the line without `ONBUILD` (its trailing blanks kept); checked when it runs. */
function triggerOf(node: Node, line: number): Instruction {
  const child = node.child as Node;
  const original = node.original.replace(/^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i, '');
  const trigger: Instruction = { keyword: child.cmd.toUpperCase(), flags: {}, args: child.rest, original, line };
  if (child.json) trigger.json = child.cmd === 'healthcheck' ? child.words.slice(1) : child.words;
  try {
    trigger.flags = checkInstruction(child);
  } catch (err) {
    // moby accepts any trigger here and refuses it in the child's build (parseInstruction of `original`).
    if (!(err instanceof InstructionError)) throw err;
    trigger.flags = rawFlags(child.flags);
  }
  return trigger;
}

function rawFlags(words: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) flags[word.slice(2)] = 'true';
    else flags[word.slice(2, eq)] = word.slice(eq + 1);
  }
  return flags;
}

/** moby's instructions.Parse: node by node, so the first error in file order wins. */
function group(nodes: { node: Node; line: number }[]): { metaArgs: Instruction[]; stages: Stage[] } {
  const metaArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const { node, line } of nodes) {
    const inst = located(node, line);
    if (inst.keyword === 'FROM') stages.push(stageOf(inst, stages.length));
    else if (stages.length) stages[stages.length - 1].instructions.push(inst);
    else if (inst.keyword === 'ARG') metaArgs.push(inst);
    else throw new Fault('invalid-argument', 'no build stage in current context');
  }
  return { metaArgs, stages };
}

function stageOf(from: Instruction, index: number): Stage {
  const words = from.args.split(/[\t\v\f\r ]+/);
  const stage: Stage = { index, base: words[0], from, instructions: [] };
  if (words.length === 3) stage.name = words[2].toLowerCase();
  if (from.flags.platform !== undefined) stage.platform = from.flags.platform;
  return stage;
}
