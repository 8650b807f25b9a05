import { randomInt } from 'node:crypto';

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
