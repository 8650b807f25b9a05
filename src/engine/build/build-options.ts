import type { ProgressSink } from '../images/progress.ts';

/** The resources and network of the containers a build runs its steps in (moby's hostConfigFromOptions). */
export interface StepHostConfig {
  NetworkMode?: string;
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  CgroupParent?: string;
  CpuPeriod?: number;
  CpuQuota?: number;
  ShmSize?: number;
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  ExtraHosts?: string[];
}

/** One `POST /build` as the builder sees it, after the route has checked and refused what it must. */
export interface BuildOptions {
  /** Path of the Dockerfile inside the context (or what `remote=` names). */
  dockerfile?: string;
  remote?: string;
  tags?: string[];
  /** `--build-arg`: a null value (`--build-arg NAME` with NAME unset) declares without a value. */
  buildArgs?: Record<string, string | null>;
  labels?: Record<string, string>;
  quiet?: boolean;
  noCache?: boolean;
  cacheFrom?: string[];
  /** `--pull`: FROM images are pulled even when present. */
  pull?: boolean;
  /** Remove each step's container once the step succeeded (moby's default). */
  remove?: boolean;
  /** Remove each step's container even when the step failed. */
  forceRemove?: boolean;
  target?: string;
  hostConfig: StepHostConfig;
  progress: ProgressSink;
  signal?: AbortSignal;
}
