import { parseJsonArray, parseNameVal, parseWords, splitWhitespace } from './dockerfile-args.ts';
import { goTrim, goTrimLeft, isGoSpace } from './go-text.ts';

/** moby's parser.Node for one instruction: what the first phase (parser.Parse) makes of a logical line. */
export interface Node {
  /** Lower-cased keyword, as moby keeps it. */
  cmd: string;
  /** `--name=value` words before the arguments, quotes removed. */
  flags: string[];
  /** The text after the flags, trimmed. */
  rest: string;
  /** The arguments as the keyword's line parser splits them (moby's nodeArgs). */
  words: string[];
  /** The arguments were a JSON array (exec form). */
  json: boolean;
  /** The logical line (leading blanks of its first line removed, nothing else). */
  original: string;
  /** ONBUILD's instruction. */
  child?: Node;
}

interface Parsed {
  words: string[];
  json?: boolean;
  child?: Node;
}

type LineParser = (rest: string, escape: string) => Parsed;

const whitespaceList: LineParser = (rest) => ({ words: rest === '' ? [] : splitWhitespace(rest) });
const wholeString: LineParser = (rest) => ({ words: rest === '' ? [] : [rest] });
const maybeJson: LineParser = (rest) => {
  if (rest === '') return { words: [] };
  const json = parseJsonArray(rest);
  return json ? { words: json, json: true } : { words: [rest] };
};
const maybeJsonList: LineParser = (rest, escape) => {
  const json = parseJsonArray(rest);
  return json ? { words: json, json: true } : whitespaceList(rest, escape);
};
const nameVal =
  (keyword: string): LineParser =>
  (rest, escape) => ({ words: parseNameVal(rest, keyword, escape).flat() });

/** HEALTHCHECK: the type word, then the command as RUN's (JSON or a string). */
const healthConfig: LineParser = (rest, escape) => {
  const chars = Array.from(rest);
  const end = chars.findIndex(isGoSpace);
  const type = end < 0 ? rest : chars.slice(0, end).join('');
  if (type === '') return { words: [] };
  const command = maybeJson(goTrimLeft(rest.slice(type.length)), escape);
  return { words: [type, ...command.words], json: command.json };
};

const subCommand: LineParser = (rest, escape) => {
  if (rest === '') return { words: [] };
  const child = parseNode(rest, escape);
  return { words: [child.cmd, ...child.words], child };
};

// moby's dispatch table (parser.go); unknown keywords parse to no arguments and fail in the second phase.
const lineParsers: Record<string, LineParser> = {
  add: maybeJsonList,
  arg: (rest, escape) => ({ words: parseWords(rest, escape) }),
  cmd: maybeJson,
  copy: maybeJsonList,
  entrypoint: maybeJson,
  env: nameVal('ENV'),
  expose: whitespaceList,
  from: whitespaceList,
  healthcheck: healthConfig,
  label: nameVal('LABEL'),
  maintainer: wholeString,
  onbuild: subCommand,
  run: maybeJson,
  shell: maybeJson,
  stopsignal: wholeString,
  user: wholeString,
  volume: maybeJsonList,
  workdir: wholeString,
};

/** moby's newNodeFromLine: keyword, builder flags, then the keyword's own argument syntax. Throws LineError. */
export function parseNode(line: string, escape: string): Node {
  const [keyword, after = ''] = splitWhitespace(goTrim(line), 2);
  const { rest, flags } = extractFlags(after);
  const cmd = keyword.toLowerCase();
  const parsed = Object.hasOwn(lineParsers, cmd) ? lineParsers[cmd](goTrim(rest), escape) : { words: [] };
  return { cmd, flags, rest: goTrim(rest), words: parsed.words, json: parsed.json ?? false, original: line, child: parsed.child };
}

/**
 * moby's extractBuilderFlags: leading words that start with `--` (quotes removed, `\` escapes the next char
 * whatever the escape directive says); a bare `--` ends them.
 */
function extractFlags(line: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && isGoSpace(line[pos])) pos++;
    if (!line.startsWith('--', pos)) return { rest: line.slice(pos), flags };
    const { word, end, blankOk } = flagWord(line, pos);
    if (word === '--' && end < line.length) return { rest: line.slice(end), flags };
    if (word !== '--' && (blankOk || word.length)) flags.push(word);
    if (end >= line.length) return { rest: '', flags };
    pos = end;
  }
}

function flagWord(line: string, start: number): { word: string; end: number; blankOk: boolean } {
  let word = '';
  let quote = '';
  let blankOk = false;
  let pos = start;
  for (; pos < line.length; pos++) {
    let ch = line[pos];
    if (!quote && isGoSpace(ch)) break;
    if (!quote && (ch === "'" || ch === '"')) {
      [quote, blankOk] = [ch, true];
      continue;
    }
    if (quote && ch === quote) {
      quote = '';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) continue;
      ch = line[++pos];
    }
    word += ch;
  }
  return { word, end: pos, blankOk };
}
