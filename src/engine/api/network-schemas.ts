import { z } from 'zod';
import { goBool, goInt, goString, goStringMap, goStrings, goStruct, goStructList } from './go-json.ts';
import { qEnum, qFilters, qString } from './query-schema.ts';
import type { RouteSchema } from './router.ts';

/** The spellings strconv.ParseBool takes (moby parses `verbose` with it). */
const goBoolTexts = ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'] as const;

/**
 * EndpointSettings.GwPriority (API 1.48): which network gives the default gateway. Here the first network a
 * container joins always does, so any other priority is refused rather than ignored.
 */
export const gwPrioritySchema = () =>
  goInt('int').transform((priority, ctx) => {
    if (!priority) return priority;
    ctx.addIssue({ code: 'custom', message: `GwPriority ${priority} is not supported: this engine takes the default gateway from the container's first network` });
    return z.NEVER;
  });

/** network.EndpointSettings: `network connect`, and each network of a create body's NetworkingConfig. */
export const endpointSettingsSchema = goStruct('network.EndpointSettings', {
  IPAMConfig: goStruct('network.EndpointIPAMConfig', { IPv4Address: goString(), IPv6Address: goString(), LinkLocalIPs: goStrings() }),
  Links: goStrings(),
  Aliases: goStrings(),
  MacAddress: goString(),
  DriverOpts: goStringMap(),
  GwPriority: gwPrioritySchema(),
  NetworkID: goString(),
  EndpointID: goString(),
  Gateway: goString(),
  IPAddress: goString(),
  IPPrefixLen: goInt('int'),
  IPv6Gateway: goString(),
  GlobalIPv6Address: goString(),
  GlobalIPv6PrefixLen: goInt('int'),
  DNSNames: goStrings(),
});

/** One schema per network endpoint (network-routes.ts). */
export const networkSchemas = {
  list: { query: z.object({ filters: qFilters(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']) }) },
  inspect: {
    query: z.object({
      verbose: qEnum(goBoolTexts, (v) => `invalid value for verbose: ${v}: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`),
      scope: qString(),
    }),
  },
  /** network.CreateRequest (its embedded CreateOptions flattened, as encoding/json reads it). */
  create: {
    body: goStruct('network.CreateRequest', {
      Name: goString(),
      CheckDuplicate: goBool(),
      Driver: goString(),
      Scope: goString(),
      EnableIPv4: goBool(),
      EnableIPv6: goBool(),
      IPAM: goStruct('network.IPAM', {
        Driver: goString(),
        Options: goStringMap(),
        Config: goStructList('network.IPAMConfig', { Subnet: goString(), IPRange: goString(), Gateway: goString(), AuxiliaryAddresses: goStringMap() }),
      }),
      Internal: goBool(),
      Attachable: goBool(),
      Ingress: goBool(),
      ConfigOnly: goBool(),
      ConfigFrom: goStruct('network.ConfigReference', { Network: goString() }),
      Options: goStringMap(),
      Labels: goStringMap(),
    }),
  },
  prune: { query: z.object({ filters: qFilters(['label', 'label!', 'until']) }) },
  connect: { body: goStruct('network.ConnectOptions', { Container: goString(), EndpointConfig: endpointSettingsSchema }) },
  disconnect: { body: goStruct('network.DisconnectOptions', { Container: goString(), Force: goBool() }) },
} satisfies Record<string, RouteSchema>;
