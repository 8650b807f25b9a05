import { type RunResult, run } from './run.ts';

export interface SkopeoOptions {
  timeoutMs?: number;
}

/**
 * Debian's skopeo. `--insecure-policy` because tests have no /etc/containers/policy.json to rely on; callers add
 * TLS and credential flags (or use the helpers below, which do it for docker:// references).
 */
export function skopeo(args: string[], options: SkopeoOptions = {}): Promise<RunResult> {
  return run('skopeo', ['--insecure-policy', ...args], { timeoutMs: options.timeoutMs ?? 300_000 });
}

export async function skopeoOk(args: string[], options: SkopeoOptions = {}): Promise<string> {
  const result = await skopeo(args, options);
  if (result.code !== 0) throw new Error(`skopeo ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** `user:password` for `--creds`-style flags. */
export type Creds = string | { user: string; password: string };

const credsArg = (creds: Creds) => (typeof creds === 'string' ? creds : `${creds.user}:${creds.password}`);
const isRegistry = (ref: string) => ref.startsWith('docker://');

/** Plain http on loopback: TLS verification off for a docker:// side, nothing for local transports. */
export function srcTlsOff(ref: string): string[] {
  return isRegistry(ref) ? ['--src-tls-verify=false'] : [];
}

export function destTlsOff(ref: string): string[] {
  return isRegistry(ref) ? ['--dest-tls-verify=false'] : [];
}

export function tlsOff(ref: string): string[] {
  return isRegistry(ref) ? ['--tls-verify=false'] : [];
}

export interface CopyOptions extends SkopeoOptions {
  srcCreds?: Creds;
  destCreds?: Creds;
  /** `--all`: every image of an index, not just the host's platform. */
  all?: boolean;
  preserveDigests?: boolean;
  /** `--format v2s2|oci` for the destination manifest. */
  format?: 'v2s2' | 'oci';
  /** Keep TLS verification on (for https tests that pass --src-cert-dir/--dest-cert-dir in `extra`). */
  verifyTls?: boolean;
  extra?: string[];
}

/** `skopeo copy SRC DEST` between any transports, plain http towards loopback registries. */
export function skopeoCopy(src: string, dest: string, options: CopyOptions = {}): Promise<string> {
  const args = ['copy'];
  if (!options.verifyTls) args.push(...srcTlsOff(src), ...destTlsOff(dest));
  if (options.srcCreds) args.push('--src-creds', credsArg(options.srcCreds));
  if (options.destCreds) args.push('--dest-creds', credsArg(options.destCreds));
  if (options.all) args.push('--all');
  if (options.preserveDigests) args.push('--preserve-digests');
  if (options.format) args.push('--format', options.format);
  args.push(...(options.extra ?? []), src, dest);
  return skopeoOk(args, options);
}

export interface InspectOptions extends SkopeoOptions {
  creds?: Creds;
  verifyTls?: boolean;
}

function refArgs(ref: string, options: InspectOptions): string[] {
  const args = options.verifyTls ? [] : tlsOff(ref);
  if (options.creds) args.push('--creds', credsArg(options.creds));
  return args;
}

/** `skopeo inspect` parsed: Digest, RepoTags, Architecture, Layers… */
export async function skopeoInspect(ref: string, options: InspectOptions = {}): Promise<Record<string, unknown>> {
  return JSON.parse(await skopeoOk(['inspect', ...refArgs(ref, options), ref], options));
}

/** `skopeo inspect --raw`: the manifest bytes exactly as the registry served them (hash them for the digest). */
export function skopeoInspectRaw(ref: string, options: InspectOptions = {}): Promise<string> {
  return skopeoOk(['inspect', '--raw', ...refArgs(ref, options), ref], options);
}

export async function skopeoListTags(ref: string, options: InspectOptions = {}): Promise<string[]> {
  return (JSON.parse(await skopeoOk(['list-tags', ...refArgs(ref, options), ref], options)) as { Tags: string[] }).Tags;
}

export async function skopeoDelete(ref: string, options: InspectOptions = {}): Promise<void> {
  await skopeoOk(['delete', ...refArgs(ref, options), ref], options);
}
