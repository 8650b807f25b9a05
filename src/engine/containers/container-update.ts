/*
 * `docker update` after moby daemon/update.go, container/container_unix.go UpdateContainer and
 * daemon/update_linux.go toContainerdResources: verify the request (warnings for what the host cannot enforce),
 * merge it into HostConfig with moby's conflict rules, save, and if the container runs apply the request's limits
 * live through the runtime; a runtime refusal (the kernel's, e.g. a memory limit below current usage) restores
 * the saved HostConfig.
 */
import { Fault } from '../../base/fault.ts';
import type { HostConfig, RestartPolicy } from './container-record.ts';
import { checkBlkioWeight, minMemory, verifyCpu } from './resource-checks.ts';
import { adaptToHost } from './container-spec.ts';
import type { DaemonContext } from './daemon-context.ts';

/** moby's container.UpdateConfig (Resources + RestartPolicy); zero values mean "leave as it is". */
export interface UpdateRequest {
  Memory: number;
  MemorySwap: number;
  MemoryReservation: number;
  KernelMemory: number;
  NanoCpus: number;
  CpuShares: number;
  CpuPeriod: number;
  CpuQuota: number;
  CpusetCpus: string;
  CpusetMems: string;
  PidsLimit: number | null;
  BlkioWeight: number;
  RestartPolicy: { Name: string; MaximumRetryCount: number };
  /** Fields of Resources this engine cannot change (named, with a non-zero value): refused by name. */
  unsupported: string[];
}


export async function update(ctx: DaemonContext, input: string, request: UpdateRequest): Promise<{ Warnings: string[] | null }> {
  const record = ctx.deps.store.resolve(input);
  return ctx.withLock(record.id, async () => {
    const cannot = (kind: 'conflict' | 'invalid-argument' | 'not-found', message: string) => new Fault(kind, `Cannot update container ${record.id}: ${message}`);
    if (request.unsupported.length) throw new Fault('invalid-argument', `${request.unsupported.join(', ')}: not supported by docker update on this engine`);
    const warnings = verify(request, ctx.deps.runtime.support);
    if (ctx.live.get(record.id)?.removing || record.state.Dead) throw cannot('conflict', 'container is marked for removal and cannot be "update"');
    const backup = structuredClone(record.hostConfig);
    const conflict = merge(record.hostConfig, request);
    if (conflict) throw cannot('conflict', conflict);
    ctx.deps.store.save(record);
    if (record.state.Running && !record.state.Restarting) {
      try {
        await ctx.deps.runtime.update(record.id, liveResources(request));
      } catch (err) {
        record.hostConfig = backup;
        ctx.deps.store.save(record);
        if (err instanceof Fault) throw cannot(err.kind === 'not-found' ? 'not-found' : 'conflict', err.message);
        // moby: errdefs.System, a 500 carrying runc's (the kernel's) words.
        throw new Error(`Cannot update container ${record.id}: ${(err as Error).message}`, { cause: err });
      }
    }
    ctx.event(record, 'update');
    return { Warnings: warnings.length ? warnings : null };
  });
}

/** moby verifyContainerSettings(update=true): the checks that concern an update, and its warnings. */
function verify(request: UpdateRequest, support: Parameters<typeof adaptToHost>[1]): string[] {
  const fail = (message: string) => new Fault('invalid-argument', message);
  validateRestartPolicy(request.RestartPolicy);
  if (request.Memory !== 0 && request.Memory < minMemory) throw fail('Minimum memory limit allowed is 6MB');
  const warnings = adaptToHost(request, support);
  if (request.Memory > 0 && request.MemorySwap > 0 && request.MemorySwap < request.Memory) {
    throw fail('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (request.MemoryReservation > 0 && request.MemoryReservation < minMemory) throw fail('Minimum memory reservation allowed is 6MB');
  if (request.Memory > 0 && request.MemoryReservation > 0 && request.Memory < request.MemoryReservation) {
    throw fail('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (request.KernelMemory > 0) {
    // Linux 5.4 deprecated kmem limits and 6.x ignores them: moby's "host cannot enforce" answer.
    warnings.push('Specifying a kernel memory limit is deprecated and will be removed in a future release.');
    warnings.push('Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    request.KernelMemory = 0;
  }
  verifyCpu(request);
  checkBlkioWeight(request.BlkioWeight);
  return warnings;
}

/** moby 20.10 daemon/container.go validateRestartPolicy. */
function validateRestartPolicy(policy: UpdateRequest['RestartPolicy']): void {
  const fail = (message: string) => new Fault('invalid-argument', message);
  if (policy.Name === '') return;
  if (policy.Name === 'on-failure') {
    if (policy.MaximumRetryCount < 0) throw fail('maximum retry count cannot be negative');
  } else if (['always', 'unless-stopped', 'no'].includes(policy.Name)) {
    if (policy.MaximumRetryCount !== 0) throw fail(`maximum retry count cannot be used with restart policy '${policy.Name}'`);
  } else throw fail(`invalid restart policy '${policy.Name}'`);
}

/** container_unix.go UpdateContainer: the request's non-zero values into `host`; the conflict text, if any. */
function merge(host: HostConfig, r: UpdateRequest): string | undefined {
  if (r.NanoCpus > 0 && host.CpuPeriod > 0) return 'Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set';
  if (r.NanoCpus > 0 && host.CpuQuota > 0) return 'Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set';
  if (r.CpuPeriod > 0 && host.NanoCpus > 0) return 'Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set';
  if (r.CpuQuota > 0 && host.NanoCpus > 0) return 'Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set';
  // moby stores twice the memory as the swap limit at create when none was given.
  const currentSwap = host.MemorySwap === 0 && host.Memory > 0 ? host.Memory * 2 : host.MemorySwap;
  if (r.Memory !== 0 && r.Memory > currentSwap && r.MemorySwap === 0) {
    return 'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time';
  }
  if (r.RestartPolicy.Name !== '' && host.AutoRemove && r.RestartPolicy.Name !== 'no') {
    return 'Restart policy cannot be updated because AutoRemove is enabled for the container';
  }
  const set = <K extends keyof HostConfig>(key: K, value: HostConfig[K], given: boolean) => {
    if (given) host[key] = value;
  };
  set('BlkioWeight', r.BlkioWeight, r.BlkioWeight !== 0);
  set('CpuShares', r.CpuShares, r.CpuShares !== 0);
  set('NanoCpus', r.NanoCpus, r.NanoCpus !== 0);
  set('CpuPeriod', r.CpuPeriod, r.CpuPeriod !== 0);
  set('CpuQuota', r.CpuQuota, r.CpuQuota !== 0);
  set('CpusetCpus', r.CpusetCpus, r.CpusetCpus !== '');
  set('CpusetMems', r.CpusetMems, r.CpusetMems !== '');
  set('Memory', r.Memory, r.Memory !== 0);
  set('MemorySwap', r.MemorySwap, r.MemorySwap !== 0);
  set('MemoryReservation', r.MemoryReservation, r.MemoryReservation !== 0);
  set('PidsLimit', r.PidsLimit, r.PidsLimit !== null);
  if (r.RestartPolicy.Name !== '') host.RestartPolicy = { ...r.RestartPolicy } as RestartPolicy;
  return undefined;
}

/**
 * toContainerdResources: the request as OCI LinuxResources for `runc update` (zero leaves a limit as it is).
 * Only a positive swap limit goes live: moby (20.10 and 25) stores `--memory-swap -1` for the next start and
 * leaves the running cgroup's memory+swap limit as it is.
 */
export function liveResources(r: UpdateRequest): Record<string, unknown> {
  const period = r.NanoCpus !== 0 ? 100_000 : r.CpuPeriod;
  const quota = r.NanoCpus !== 0 ? Math.round((r.NanoCpus * 100_000) / 1e9) : r.CpuQuota;
  return {
    blockIO: { weight: r.BlkioWeight },
    cpu: { shares: r.CpuShares, cpus: r.CpusetCpus, mems: r.CpusetMems, period, quota },
    memory: { limit: r.Memory, reservation: r.MemoryReservation, ...(r.MemorySwap > 0 ? { swap: r.MemorySwap } : {}) },
    // runc needs -1 to lift a pids limit; moby sends it for 0 and negative values.
    ...(r.PidsLimit !== null ? { pids: { limit: r.PidsLimit <= 0 ? -1 : r.PidsLimit } } : {}),
  };
}
