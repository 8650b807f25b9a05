import { goBoolTexts } from '../../base/go-parse.ts';
import { endpointSettingsFields } from './container-create-schema.ts';
import { z } from 'zod';
import { goBool, goString, goStringMap, goStruct, goStructList } from './go-json.ts';
import { qEnum, qFilters, qString } from './query-schema.ts';
import type { RouteSchema } from './router.ts';



/** network.EndpointSettings: `network connect`, and each network of a create body's NetworkingConfig. */
export const endpointSettingsSchema = goStruct('network.EndpointSettings', endpointSettingsFields);

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
