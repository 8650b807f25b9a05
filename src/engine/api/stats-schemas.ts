import { z } from 'zod';
import type { UpdateRequest } from '../containers/container-update.ts';
import { goInt, goString, goStrings, goStruct, goStructList, goBool } from './go-json.ts';
import { qBool } from './query-schema.ts';
import type { RouteSchema } from './router.ts';

const throttleDevice = { Path: goString(), Rate: goInt('uint') };

/**
 * Fields of moby's container.Resources that `docker update` here cannot change: a non-zero value is refused by
 * name (moby stores most of them without applying them to the running container).
 */
const unsupportedFields = {
  CgroupParent: goString(),
  BlkioWeightDevice: goStructList('blkiodev.WeightDevice', { Path: goString(), Weight: goInt('uint16') }),
  BlkioDeviceReadBps: goStructList('blkiodev.ThrottleDevice', throttleDevice),
  BlkioDeviceWriteBps: goStructList('blkiodev.ThrottleDevice', throttleDevice),
  BlkioDeviceReadIOps: goStructList('blkiodev.ThrottleDevice', throttleDevice),
  BlkioDeviceWriteIOps: goStructList('blkiodev.ThrottleDevice', throttleDevice),
  CpuRealtimePeriod: goInt('int64'),
  CpuRealtimeRuntime: goInt('int64'),
  Devices: goStructList('container.DeviceMapping', { PathOnHost: goString(), PathInContainer: goString(), CgroupPermissions: goString() }),
  DeviceCgroupRules: goStrings(),
  DeviceRequests: goStructList('container.DeviceRequest', { Driver: goString(), Count: goInt('int') }),
  KernelMemoryTCP: goInt('int64'),
  MemorySwappiness: goInt('int64'),
  OomKillDisable: goBool(),
  Ulimits: goStructList('units.Ulimit', { Name: goString(), Hard: goInt('int64'), Soft: goInt('int64') }),
  CpuCount: goInt('int64'),
  CpuPercent: goInt('int64'),
} as const;

/** POST /containers/{id}/update: container.UpdateConfig (Resources + RestartPolicy). */
export const updateBody = goStruct('container.UpdateConfig', {
  ...unsupportedFields,
  CpuShares: goInt('int64'),
  Memory: goInt('int64'),
  NanoCpus: goInt('int64'),
  BlkioWeight: goInt('uint16'),
  CpuPeriod: goInt('int64'),
  CpuQuota: goInt('int64'),
  CpusetCpus: goString(),
  CpusetMems: goString(),
  KernelMemory: goInt('int64'),
  MemoryReservation: goInt('int64'),
  MemorySwap: goInt('int64'),
  PidsLimit: goInt('int64'),
  IOMaximumIOps: goInt('uint'),
  IOMaximumBandwidth: goInt('uint'),
  RestartPolicy: goStruct('container.RestartPolicy', {
    // Checked by the update verb, with moby 20.10's validateRestartPolicy texts.
    Name: goString(),
    MaximumRetryCount: goInt('int'),
  }),
}).superRefine((body, ctx) => {
  // daemon_unix.go verifyPlatformContainerResources
  if (body?.IOMaximumIOps || body?.IOMaximumBandwidth) {
    ctx.addIssue({ code: 'custom', message: 'Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps' });
  }
});

type UpdateBody = NonNullable<z.output<typeof updateBody>>;

/** The decoded body as the update verb takes it: zero values where absent, refused fields named. */
export function updateRequest(body: UpdateBody | undefined): UpdateRequest {
  const b: Partial<UpdateBody> = body ?? {};
  const given = (value: unknown) => value !== undefined && value !== 0 && value !== '' && value !== false && !(Array.isArray(value) && value.length === 0);
  return {
    Memory: b.Memory ?? 0,
    MemorySwap: b.MemorySwap ?? 0,
    MemoryReservation: b.MemoryReservation ?? 0,
    KernelMemory: b.KernelMemory ?? 0,
    NanoCpus: b.NanoCpus ?? 0,
    CpuShares: b.CpuShares ?? 0,
    CpuPeriod: b.CpuPeriod ?? 0,
    CpuQuota: b.CpuQuota ?? 0,
    CpusetCpus: b.CpusetCpus ?? '',
    CpusetMems: b.CpusetMems ?? '',
    // container_routes.go postContainerUpdate: 0 and negative values both mean "unlimited".
    PidsLimit: b.PidsLimit === undefined ? null : Math.max(0, b.PidsLimit),
    BlkioWeight: b.BlkioWeight ?? 0,
    RestartPolicy: { Name: b.RestartPolicy?.Name ?? '', MaximumRetryCount: b.RestartPolicy?.MaximumRetryCount ?? 0 },
    // MemorySwappiness -1 is moby's "not set" (fixMemorySwappiness).
    unsupported: Object.keys(unsupportedFields).filter((key) => given((b as Record<string, unknown>)[key]) && !(key === 'MemorySwappiness' && b.MemorySwappiness === -1)),
  };
}

export const statsSchemas = {
  stats: { query: z.object({ stream: qBool(true), 'one-shot': qBool() }) },
  update: { body: updateBody },
} satisfies Record<string, RouteSchema>;
