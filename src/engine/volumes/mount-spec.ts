/*
 * The mount-spec parser (moby volume/mounts/linux_parser.go): `-v`/`--volume` strings (HostConfig.Binds),
 * `--mount` structs (HostConfig.Mounts) and the image's VOLUME list, turned into what a container asks for.
 * Pure: whether a bind source exists and which volume a name means are the caller's business.
 */
import { cleanPath } from '../../base/go-path.ts';
import { Fault } from '../../base/fault.ts';
import { validateVolumeName } from './volume-name.ts';

export interface BindRequest {
  type: 'bind';
  source: string;
  destination: string;
  readonly: boolean;
  propagation?: string;
  /** The raw `-v` mode (inspect's Mode); '' for `--mount`. */
  mode: string;
  /** `-v` creates a missing source at start; `--mount` requires it to exist at create. */
  createSource: boolean;
}

export interface VolumeRequest {
  type: 'volume';
  /** '' for an anonymous volume. */
  name: string;
  destination: string;
  readonly: boolean;
  mode: string;
  /** `nocopy` / `volume-nocopy`: a new volume is not seeded from the image's content at the destination. */
  nocopy: boolean;
  /** `--mount ...,volume-label=k=v`, `volume-driver=…`, `volume-opt=…`: used when the volume is created. */
  labels?: Record<string, string>;
  driver?: string;
  driverOptions?: Record<string, string>;
}

export interface TmpfsRequest {
  type: 'tmpfs';
  destination: string;
  readonly: boolean;
  /** Mount options, moby's defaults first (`noexec,nosuid,nodev`), then the user's. */
  options: string[];
}

export type MountRequest = BindRequest | VolumeRequest | TmpfsRequest;

/** mount.Mount as the create body carries it (`--mount`). */
export interface MountStruct {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

const propagations = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

/** Every mount a container asks for, `-v`, `--mount` then `--tmpfs`; a destination named twice is refused. */
export function parseMountRequests(host: { Binds?: string[] | null; Mounts?: MountStruct[] | null; Tmpfs?: Record<string, string> | null }): MountRequest[] {
  const out = [
    ...(host.Binds ?? []).map(parseVolumeFlag),
    ...(host.Mounts ?? []).map(parseMountStruct),
    ...Object.entries(host.Tmpfs ?? {}).map(([path, options]) => parseTmpfsFlag(path, options)),
  ];
  const seen = new Set<string>();
  for (const { destination } of out) {
    if (seen.has(destination)) throw new Fault('invalid-argument', `Duplicate mount point: ${destination}`);
    seen.add(destination);
  }
  return out;
}

/** Anonymous volumes for the image's VOLUME paths that no other mount covers (moby daemon/create_unix.go). */
export function imageVolumeRequests(volumes: Record<string, unknown> | null | undefined, taken: ReadonlySet<string>): VolumeRequest[] {
  return Object.keys(volumes ?? {})
    .map(cleanPath)
    .filter((path) => path.startsWith('/') && path !== '/' && !taken.has(path))
    .map((destination) => ({ type: 'volume', name: '', destination, readonly: false, mode: '', nocopy: false }));
}

/** `-v [source:]destination[:mode]`. */
export function parseVolumeFlag(spec: string): MountRequest {
  const invalid = (why = '') => new Fault('invalid-argument', `invalid volume specification: '${spec}'${why ? `: ${why}` : ''}`);
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalid();
  // `/data:ro` is a destination with a mode and no source: moby refuses it rather than guess.
  if (parts.length === 2 && /^(ro|rw)$/.test(parts[1])) throw invalid();
  const [source, destination, mode = ''] = parts.length === 1 ? ['', parts[0]] : parts;
  const type = source.startsWith('/') ? 'bind' : 'volume';
  const checked = checkDestination(destination, type, spec);
  const options = parseMode(mode, type);
  if (type === 'bind') {
    return { type, source: cleanPath(source), destination: checked, readonly: options.readonly, mode, createSource: true, ...options.propagation };
  }
  if (source) validateVolumeName(source);
  return { type, name: source, destination: checked, readonly: options.readonly, mode, nocopy: options.nocopy };
}

function parseMode(mode: string, type: 'bind' | 'volume'): { readonly: boolean; nocopy: boolean; propagation?: { propagation: string } } {
  const out: ReturnType<typeof parseMode> = { readonly: false, nocopy: false };
  for (const option of mode ? mode.split(',') : []) {
    if (option === 'ro' || option === 'rw') out.readonly = option === 'ro';
    else if (option === 'nocopy' && type === 'volume') out.nocopy = true;
    else if (propagations.includes(option) && type === 'bind') out.propagation = { propagation: option };
    else if (option !== 'z' && option !== 'Z' && option !== 'nocopy') throw new Fault('invalid-argument', `invalid mode: ${mode}`);
  }
  return out;
}

function checkDestination(destination: string, type: 'bind' | 'volume', spec: string): string {
  const prefix = `invalid volume specification: '${spec}': invalid mount config for type "${type}"`;
  if (!destination.startsWith('/')) throw new Fault('invalid-argument', `${prefix}: invalid mount path: '${destination}' mount path must be absolute`);
  const clean = cleanPath(destination);
  if (clean === '/') throw new Fault('invalid-argument', `${prefix}: invalid specification: destination can't be '/'`);
  return clean;
}

/** moby's tmpfs defaults (daemon/oci_linux.go): a user's `exec`, `suid` or `dev` replaces its `no…` twin. */
const tmpfsDefaults = ['noexec', 'nosuid', 'nodev'];

function tmpfsOptions(user: string[]): string[] {
  const flags = new Set(user.map((o) => o.replace(/^no/, '')));
  return [...tmpfsDefaults.filter((d) => !flags.has(d.slice(2))), ...user];
}

/** `--tmpfs /path[:options]` (HostConfig.Tmpfs). */
export function parseTmpfsFlag(path: string, options: string): TmpfsRequest {
  if (!path.startsWith('/')) throw new Fault('invalid-argument', `invalid mount config for type "tmpfs": invalid mount path: '${path}' mount path must be absolute`);
  const destination = cleanPath(path);
  if (destination === '/') throw new Fault('invalid-argument', `invalid mount config for type "tmpfs": invalid specification: destination can't be '/'`);
  const user = options ? options.split(',').filter(Boolean) : [];
  return { type: 'tmpfs', destination, readonly: user.includes('ro'), options: tmpfsOptions(user.filter((o) => o !== 'ro' && o !== 'rw')) };
}

/** `--mount type=bind|volume|tmpfs,…`; the rest are refused by name. */
export function parseMountStruct(mount: MountStruct): MountRequest {
  const type = mount.Type ?? '';
  const prefix = `invalid mount config for type "${type}"`;
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
    if (type === 'npipe' || type === 'cluster' || type === 'image') {
      throw new Fault('invalid-argument', `mount type ${type} is not supported by this engine: only bind, volume and tmpfs mounts`);
    }
    throw new Fault('invalid-argument', `${prefix}: mount type unknown`);
  }
  if (!mount.Target?.startsWith('/')) throw new Fault('invalid-argument', `${prefix}: invalid mount path: '${mount.Target ?? ''}' mount path must be absolute`);
  const destination = cleanPath(mount.Target);
  if (destination === '/') throw new Fault('invalid-argument', `${prefix}: invalid specification: destination can't be '/'`);
  if (type === 'tmpfs') return parseTmpfsStruct(mount, destination);
  if (mount.TmpfsOptions) throw new Fault('invalid-argument', `${prefix}: field TmpfsOptions must not be specified`);
  if (type === 'bind') {
    if (mount.VolumeOptions) throw new Fault('invalid-argument', `${prefix}: field VolumeOptions must not be specified`);
    if (!mount.Source) throw new Fault('invalid-argument', `${prefix}: field Source must not be empty`);
    if (!mount.Source.startsWith('/')) throw new Fault('invalid-argument', `${prefix}: invalid mount path: '${mount.Source}' mount path must be absolute`);
    const propagation = mount.BindOptions?.Propagation;
    if (propagation && !propagations.includes(propagation)) throw new Fault('invalid-argument', `${prefix}: invalid propagation mode: ${propagation}`);
    return { type, source: cleanPath(mount.Source), destination, readonly: mount.ReadOnly ?? false, mode: '', createSource: false, ...(propagation ? { propagation } : {}) };
  }
  if (mount.BindOptions) throw new Fault('invalid-argument', `${prefix}: field BindOptions must not be specified`);
  if (mount.Source) validateVolumeName(mount.Source);
  const options = mount.VolumeOptions ?? {};
  return {
    type,
    name: mount.Source ?? '',
    destination,
    readonly: mount.ReadOnly ?? false,
    mode: '',
    nocopy: options.NoCopy ?? false,
    ...(options.Labels ? { labels: options.Labels } : {}),
    ...(options.DriverConfig?.Name ? { driver: options.DriverConfig.Name } : {}),
    ...(options.DriverConfig?.Options ? { driverOptions: options.DriverConfig.Options } : {}),
  };
}

/** `--mount type=tmpfs,dst=…[,tmpfs-size=…][,tmpfs-mode=…]`. */
function parseTmpfsStruct(mount: MountStruct, destination: string): TmpfsRequest {
  const prefix = 'invalid mount config for type "tmpfs"';
  if (mount.Source) throw new Fault('invalid-argument', `${prefix}: field Source must not be specified`);
  if (mount.BindOptions) throw new Fault('invalid-argument', `${prefix}: field BindOptions must not be specified`);
  if (mount.VolumeOptions) throw new Fault('invalid-argument', `${prefix}: field VolumeOptions must not be specified`);
  const { SizeBytes, Mode } = mount.TmpfsOptions ?? {};
  if (SizeBytes !== undefined && SizeBytes < 0) throw new Fault('invalid-argument', `${prefix}: invalid tmpfs size: ${SizeBytes}`);
  const user = [...(SizeBytes ? [`size=${SizeBytes}`] : []), ...(Mode ? [`mode=${(Mode & 0o7777).toString(8)}`] : [])];
  return { type: 'tmpfs', destination, readonly: mount.ReadOnly ?? false, options: tmpfsOptions(user) };
}
