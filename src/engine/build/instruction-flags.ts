/** A flag's kind as moby's BFlags knows it: a string (`--x=v`), a boolean (`--x`, `--x=false`), or repeatable. */
export type FlagKind = 'string' | 'bool' | 'strings';

/**
 * An error of moby's second phase (instructions.Parse), with its wording; the caller adds the line unless
 * `bare` (moby reports those while dispatching, without a line).
 */
export class InstructionError extends Error {
  readonly bare: boolean;

  constructor(message: string, bare = false) {
    super(message);
    this.bare = bare;
  }
}

/**
 * moby's BFlags.Parse over the words extractBuilderFlags found: each must be allowed for the keyword, given
 * once (repeatable kinds aside), strings with a value, booleans true/false. A bare `--` ends the flags.
 */
export function parseFlags(words: readonly string[], allowed: Readonly<Record<string, FlagKind>>): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const word of words) {
    if (!word.startsWith('--')) throw new InstructionError(`Arg should start with -- : ${word}`);
    if (word === '--') break;
    const eq = word.indexOf('=', 2);
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    const kind = Object.hasOwn(allowed, name) ? allowed[name] : undefined;
    if (!kind) throw new InstructionError(`Unknown flag: ${name}`);
    if (Object.hasOwn(flags, name) && kind !== 'strings') throw new InstructionError(`Duplicate flag specified: ${name}`);
    flags[name] = flagValue(name, kind, value);
  }
  return flags;
}

function flagValue(name: string, kind: FlagKind, value: string | undefined): string {
  if (kind !== 'bool') {
    if (value === undefined) throw new InstructionError(`Missing a value on flag: ${name}`);
    return value;
  }
  if (value === '') throw new InstructionError(`Missing a value on flag: ${name}`);
  const lower = (value ?? 'true').toLowerCase();
  if (lower !== 'true' && lower !== 'false') throw new InstructionError(`Expecting boolean value for flag ${name}, not: ${value}`);
  return lower;
}
