import { Fault } from '../../base/fault.ts';

/** The runtime part of an image config (OCI `config`, docker's container.Config subset an image carries). */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  StopSignal?: string;
  OnBuild?: string[] | null;
  Healthcheck?: unknown;
  Shell?: string[] | null;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** An OCI / Docker image config blob; the image ID is the digest of its bytes. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  docker_version?: string;
  /** The container a `docker commit` made this image from. */
  container?: string;
  config?: ImageRuntimeConfig | null;
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** Parses and checks the fields the engine relies on; throws invalid-argument naming the image otherwise. */
export function parseImageConfig(bytes: Buffer, id: string): ImageConfig {
  let parsed: ImageConfig;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (cause) {
    throw new Fault('invalid-argument', `image config ${id} is not JSON`, { cause });
  }
  if (parsed?.rootfs?.type !== 'layers' || !Array.isArray(parsed.rootfs.diff_ids)) {
    throw new Fault('invalid-argument', `image config ${id} has no layers rootfs`);
  }
  return parsed;
}

/** The `docker inspect` Config object: every field present, as moby's container.Config marshals it. */
export function renderRuntimeConfig(config: ImageRuntimeConfig | null | undefined): Record<string, unknown> {
  const c = config ?? {};
  return {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    Image: '',
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c.Shell ? { Shell: c.Shell } : {}),
  };
}
