import { Fault } from '../../base/fault.ts';
import { hostPlatform } from '../../client/image-resolver.ts';
import type { Dockerfile, Instruction, Stage } from './dockerfile-parser.ts';

/** A LABEL from `--label`: added to the last stage, never expanded (moby's NewLabelCommand with noExp). */
export interface OptionLabel {
  label: [string, string];
}

export type PlannedStep = Instruction | OptionLabel;

export interface PlannedStage {
  stage: Stage;
  steps: PlannedStep[];
}

export interface BuildPlan {
  metaArgs: Instruction[];
  stages: PlannedStage[];
  /** The N of "Step i/N": meta ARGs, FROMs and every step of the stages built. */
  total: number;
}

/**
 * The stages a build runs, as BuildKit (and this issue) picks them rather than moby's classic builder, which runs
 * every stage up to the target: the target (`--target`, else the last stage) and the stages it reaches through
 * `FROM <stage>` and `COPY --from=<stage|index>`, transitively, in file order. `baseOf` is a stage's FROM name
 * expanded with the meta ARGs (undefined when it does not expand: then it names no stage). The `--label`s become
 * LABEL steps of the target, sorted by key. "Step i/N" counts the meta ARGs and the steps of the stages run.
 */
export function planBuild(dockerfile: Dockerfile, target: string | undefined, labels: Record<string, string>, baseOf: (stage: Stage) => string | undefined): BuildPlan {
  let stages = dockerfile.stages;
  if (target) {
    const index = stages.findIndex((s) => s.name === target.toLowerCase());
    if (index < 0) throw new Fault('invalid-argument', `failed to reach build target ${target} in Dockerfile`);
    stages = stages.slice(0, index + 1);
  }
  if (!stages.length) throw new Fault('invalid-argument', 'No image was generated. Is your Dockerfile empty?');
  const planned = neededStages(stages, baseOf).map((stage): PlannedStage => ({ stage, steps: [...stage.instructions] }));
  const extra = Object.keys(labels).sort().map((key): OptionLabel => ({ label: [key, labels[key]] }));
  planned.at(-1)!.steps.push(...extra);
  const total = dockerfile.metaArgs.length + planned.reduce((sum, s) => sum + 1 + s.steps.length, 0);
  return { metaArgs: dockerfile.metaArgs, stages: planned, total };
}

/** The last stage and those it reaches; a reference only ever points back, so one backward sweep closes the set. */
function neededStages(stages: readonly Stage[], baseOf: (stage: Stage) => string | undefined): Stage[] {
  const needed = new Set([stages.length - 1]);
  for (let i = stages.length - 1; i >= 0; i--) {
    if (needed.has(i)) for (const ref of stageReferences(stages, i, baseOf)) needed.add(ref);
  }
  return stages.filter((_, i) => needed.has(i));
}

/**
 * The earlier stages stage `i` uses: its FROM by name, each COPY --from by name or index (moby's stage lookup:
 * a name first, then a number; the classic builder does not expand --from). ONBUILD triggers of a base image are
 * not known before it runs; one that names a skipped stage fails then (StageResults).
 */
function stageReferences(stages: readonly Stage[], i: number, baseOf: (stage: Stage) => string | undefined): number[] {
  const named = (name: string) => stages.slice(0, i).findLast((s) => s.name === name.toLowerCase())?.index;
  const refs: (number | undefined)[] = [];
  const base = baseOf(stages[i]);
  if (base !== undefined) refs.push(named(base));
  for (const inst of stages[i].instructions) {
    const from = inst.keyword === 'COPY' ? inst.flags.from : undefined;
    if (from === undefined) continue;
    const index = /^[+-]?\d+$/.test(from) ? Number(from) : undefined;
    refs.push(named(from) ?? (index !== undefined && index >= 0 && index < i ? index : undefined));
  }
  return refs.filter((ref): ref is number => ref !== undefined);
}

export function isOptionLabel(step: PlannedStep): step is OptionLabel {
  return 'label' in step;
}

/** The platform args BuildKit predefines; the build and target platforms are the host's (no other is built). */
export function platformArgs(): Map<string, string> {
  const { os, architecture, variant } = hostPlatform() as { os: string; architecture: string; variant?: string };
  const platform = [os, architecture, variant].filter(Boolean).join('/');
  const args = new Map<string, string>();
  for (const prefix of ['TARGET', 'BUILD']) {
    args.set(`${prefix}PLATFORM`, platform);
    args.set(`${prefix}OS`, os);
    args.set(`${prefix}ARCH`, architecture);
    args.set(`${prefix}VARIANT`, variant ?? '');
  }
  return args;
}

/**
 * `--platform` and `FROM --platform`: `os[/arch[/variant]]`. Only the host's platform can be built (the engine
 * runs no emulator); another OS gets moby's "unsupported os", another architecture a refusal naming both.
 */
export function checkPlatform(text: string): void {
  const [os = '', architecture, variant] = text.toLowerCase().split('/');
  if (!os || text.split('/').length > 3) throw new Fault('invalid-argument', `"${text}": unknown operating system or architecture: invalid argument`);
  if (os !== 'linux') throw new Fault('invalid-argument', `unsupported os ${os}`);
  const host = hostPlatform();
  const arch = normalizeArch(architecture ?? host.architecture);
  if (arch !== host.architecture || (variant && variant !== (host as { variant?: string }).variant)) {
    throw new Fault('invalid-argument', `platform ${text} is not supported by this engine: it builds for its own platform, linux/${host.architecture}`);
  }
}

function normalizeArch(arch: string): string {
  return ({ x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' } as Record<string, string>)[arch] ?? arch;
}
