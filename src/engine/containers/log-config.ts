import { parseGoBool } from '../../base/go-parse.ts';
import { Fault } from '../../base/fault.ts';

export type LogDriver = 'json-file' | 'local' | 'none';

/** How a container's output is kept: the driver and its rotation (`maxSize` -1: one file that grows). */
export interface LogSettings {
  driver: LogDriver;
  maxSize: number;
  maxFile: number;
}

export interface LogConfigInput {
  Type: string;
  Config?: Record<string, string> | null;
}

/** moby's per-driver option keys (daemon/logger/jsonfilelog, local). */
const jsonFileKeys = ['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'];
const localKeys = ['max-file', 'max-size', 'compress'];
/** json-file keys that decorate entries with container attributes; this engine writes none. */
const attributeKeys = ['labels', 'labels-regex', 'env', 'env-regex', 'tag'];

/** The empty type is moby's daemon default, json-file; inspect shows it so. */
export function normalizeLogConfig(input: LogConfigInput | null | undefined): { Type: string; Config: Record<string, string> } {
  return { Type: input?.Type || 'json-file', Config: { ...input?.Config } };
}

/**
 * moby's logger.ValidateLogOpts then the driver's own checks, with moby's texts. moby parses the sizes only
 * when the logger starts ("failed to initialize logging driver: …" from start); here a container that could
 * never start is refused at create with the same text.
 */
export function logSettings(input: LogConfigInput): LogSettings {
  const { Type: driver, Config: config } = normalizeLogConfig(input);
  if (driver === 'none') return { driver, maxSize: -1, maxFile: 1 };
  const mode = config.mode ?? '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') throw invalid(`logger: logging mode not supported: ${mode}`);
  if (mode === 'non-blocking' || 'max-buffer-size' in config) {
    throw invalid(`logger: log option ${mode === 'non-blocking' ? 'mode=non-blocking' : 'max-buffer-size'} is not supported by this engine`);
  }
  const options = Object.fromEntries(Object.entries(config).filter(([key]) => key !== 'mode'));
  if (driver === 'json-file') return jsonFileSettings(options);
  if (driver === 'local') return localSettings(options);
  throw invalid(`error looking up logging plugin ${driver}: plugin "${driver}" not found`);
}

function jsonFileSettings(config: Record<string, string>): LogSettings {
  for (const key of Object.keys(config)) {
    if (!jsonFileKeys.includes(key)) throw invalid(`unknown log opt '${key}' for json-file log driver`);
    if (attributeKeys.includes(key)) throw invalid(`log opt '${key}' of the json-file log driver is not supported by this engine`);
  }
  const maxSize = config['max-size'] === undefined ? -1 : parseSize(config['max-size'], 1000);
  const maxFile = config['max-file'] === undefined ? 1 : parseMaxFile(config['max-file']);
  checkCompress(config.compress, maxFile, maxSize);
  return { driver: 'json-file', maxSize, maxFile };
}

/** moby's local driver: 20 MiB (binary units) times 5 files unless told otherwise. */
function localSettings(config: Record<string, string>): LogSettings {
  for (const key of Object.keys(config)) if (!localKeys.includes(key)) throw invalid(`unknown log opt '${key}' for log driver local`);
  const maxSize = config['max-size'] === undefined ? 20 * 1024 * 1024 : parseSize(config['max-size'], 1024);
  const maxFile = config['max-file'] === undefined ? 5 : parseMaxFile(config['max-file']);
  checkCompress(config.compress, maxFile, maxSize);
  return { driver: 'local', maxSize, maxFile };
}

/** go-units FromHumanSize (json-file, decimal) or RAMInBytes (local, binary). */
export function parseSize(text: string, base: 1000 | 1024): number {
  const match = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!match) throw initFailure(`invalid size: '${text}'`);
  const power = match[2] ? 'kmgtp'.indexOf(match[2].toLowerCase()) + 1 : 0;
  const size = Math.trunc(Number.parseFloat(match[1]) * base ** power);
  if (size <= 0) throw initFailure('max-size must be a positive number');
  return size;
}

const maxFileLimit = 100;

function parseMaxFile(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw initFailure(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  const count = Number(text);
  if (count < 1) throw initFailure('max-file cannot be less than 1');
  // Each rotation renames every kept file in turn, on the engine's one thread: an unbounded count would let one
  // container's log stall every other request.
  if (count > maxFileLimit) throw new Fault('invalid-argument', `log-opt max-file=${count}: more than ${maxFileLimit} files is not supported by this engine`);
  return count;
}

/** Rotated files are kept uncompressed here: compression is refused by name rather than dropped. */
function checkCompress(text: string | undefined, maxFile: number, maxSize: number): void {
  if (text === undefined) return;
  const value = parseGoBool(text);
  if (value === undefined) throw initFailure(`strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax`);
  if (value && (maxFile === 1 || maxSize === -1)) throw initFailure('compress cannot be true when max-file is less than 2 or max-size is not set');
  if (value) throw invalid('log opt compress=true is not supported by this engine: rotated logs are kept uncompressed');
}

function initFailure(message: string): Fault {
  return invalid(`failed to initialize logging driver: ${message}`);
}

function invalid(message: string): Fault {
  return new Fault('invalid-argument', message);
}
