import { randomInt } from 'node:crypto';
import { Fault } from '../../base/fault.ts';

// A short list in the spirit of moby's namesgenerator: adjective_surname of scientists and engineers.
const adjectives = [
  'admiring', 'agitated', 'amazing', 'awesome', 'bold', 'brave', 'busy', 'charming', 'clever', 'cool',
  'dazzling', 'determined', 'eager', 'ecstatic', 'elegant', 'epic', 'festive', 'focused', 'friendly', 'gallant',
  'gifted', 'goofy', 'happy', 'hopeful', 'jolly', 'keen', 'kind', 'laughing', 'loving', 'lucid',
  'magical', 'modest', 'nifty', 'nostalgic', 'optimistic', 'peaceful', 'pensive', 'practical', 'quirky', 'relaxed',
  'serene', 'sharp', 'stoic', 'sweet', 'tender', 'trusting', 'upbeat', 'vibrant', 'wizardly', 'zealous',
];
const surnames = [
  'albattani', 'babbage', 'bardeen', 'bohr', 'cori', 'curie', 'darwin', 'dijkstra', 'einstein', 'euclid',
  'euler', 'fermat', 'feynman', 'franklin', 'galileo', 'gauss', 'goldberg', 'hamilton', 'hawking', 'hopper',
  'hypatia', 'johnson', 'kalam', 'kepler', 'knuth', 'lamarr', 'lovelace', 'mayer', 'mccarthy', 'meitner',
  'mendel', 'morse', 'newton', 'noether', 'pare', 'pascal', 'poincare', 'ramanujan', 'ritchie', 'shannon',
  'shockley', 'stallman', 'swanson', 'tesla', 'thompson', 'torvalds', 'turing', 'wilson', 'wozniak', 'yalow',
];

/** A random `adjective_surname`; `retry` > 0 appends a digit as moby does after a collision. */
export function randomContainerName(retry = 0): string {
  const name = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}`;
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}

/**
 * Unique names, reserved synchronously before any await so that of N concurrent creates exactly one wins (moby
 * daemon/names.go: reserve first, release on failure). Names are stored as given; callers normalise them.
 * Kept free of container details so network and volume names can use it too.
 */
export class NameReserver {
  #holders = new Map<string, string>();
  #conflict: (name: string, holder: string) => Error;

  constructor(conflict: (name: string, holder: string) => Error) {
    this.#conflict = conflict;
  }

  /** Reserves `name` for `id`; reserving it again for the same `id` is a no-op. */
  reserve(name: string, id: string): void {
    const holder = this.#holders.get(name);
    if (holder !== undefined && holder !== id) throw this.#conflict(name, holder);
    this.#holders.set(name, id);
  }

  /** Frees `name` if `id` holds it (a failed create must not free a name another container holds). */
  release(name: string, id: string): void {
    if (this.#holders.get(name) === id) this.#holders.delete(name);
  }

  holderOf(name: string): string | undefined {
    return this.#holders.get(name);
  }
}

/** moby's text for a container name that is taken (the CLI and compose match on it). */
export function containerNameConflict(name: string, holder: string): Fault {
  return new Fault(
    'conflict',
    `Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
  );
}
