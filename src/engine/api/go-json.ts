import { z } from 'zod';

/**
 * Zod builders for JSON bodies as moby's Go structs decode them, so a wrong type is refused with the text Go's
 * encoding/json gives (`json: cannot unmarshal number into Go struct field CreateRequest.Image of type string`)
 * and everything else moby accepts is accepted: `null` is the zero value, unknown fields are ignored (kept, so
 * inspect can echo a HostConfig), and a StrSlice is a string or a list of strings.
 * Each builder records its Go type as zod metadata; `goJsonMessage` reads it back along an issue's path, and the
 * schema tests walk it to build wrong values.
 */
export interface GoMeta {
  /** The Go type as encoding/json names it: `string`, `int64`, `[]string`, `container.HostConfig`. */
  go: string;
  /** For structs: the type's short name, which Go puts before the field path. */
  struct?: string;
  /** For strings with a fixed set of values (checked after decoding, with moby's own message). */
  enum?: readonly string[];
}

type GoIntType = 'int' | 'int64' | 'uint' | 'uint16' | 'uint32';

const intRanges: Record<GoIntType, [number, number]> = {
  int: [-(2 ** 63), 2 ** 63 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1],
  uint: [0, 2 ** 64 - 1],
  uint16: [0, 2 ** 16 - 1],
  uint32: [0, 2 ** 32 - 1],
};

/** Go leaves a field at its zero value for `null`; here that is `undefined`, so `??` defaults apply. */
function field<T extends z.ZodType>(base: T, meta: GoMeta) {
  return base
    .meta({ ...meta })
    .nullish()
    .transform((v): z.output<T> | undefined => v ?? undefined);
}

export const goString = () => field(z.string(), { go: 'string' });
export const goBool = () => field(z.boolean(), { go: 'bool' });
export const goInt = (type: GoIntType = 'int64') => {
  const [min, max] = intRanges[type];
  return field(z.number().int().min(min).max(max), { go: type });
};
const goStringValue = () => z.string().meta({ go: 'string' });
export const goStrings = () => field(z.array(goStringValue()), { go: '[]string' });
/** strslice.StrSlice: `"ls"` is `["ls"]`; Go reports a mismatch as one against `string`. */
export const goStrSlice = () =>
  field(z.union([z.array(z.string()), z.string().transform((s) => [s])]), { go: 'string' });
export const goStringMap = () => field(z.record(z.string(), goStringValue()), { go: 'map[string]string' });
/** map[string]struct{} (ExposedPorts, Volumes). */
export const goSet = () => field(z.record(z.string(), z.looseObject({}).meta({ go: 'struct {}' })), { go: 'map[string]struct {}' });
export const goUintPair = () => {
  const uint = z.number().int().min(0).max(intRanges.uint[1]).meta({ go: 'uint' });
  return field(z.tuple([uint, uint]), { go: '[2]uint' });
};

/** A string with moby's own refusal when it is outside `values` (checked after decoding, like moby does). */
export function goEnum<const V extends readonly string[]>(values: V, message: (value: string) => string) {
  const isOneOf = (value: string): value is V[number] => values.includes(value);
  return field(
    z.string().transform((value, ctx) => {
      if (isOneOf(value)) return value;
      ctx.addIssue({ code: 'custom', message: message(value) });
      return z.NEVER;
    }),
    { go: 'string', enum: values },
  );
}

/** A struct: unknown fields are kept (Go ignores them; inspect echoes HostConfig as it was given). */
export function goStruct<S extends z.ZodRawShape>(goType: string, shape: S) {
  return field(goStructValue(goType, shape), { go: goType, struct: shortName(goType) });
}

/** A list of structs; a `null` element, which Go would zero, is refused here. */
export function goStructList<S extends z.ZodRawShape>(goType: string, shape: S) {
  return field(z.array(goStructValue(goType, shape)), { go: `[]${goType}` });
}

/** map[string]*T: a `null` value is a nil pointer (EndpointsConfig). */
export function goStructMap<S extends z.ZodRawShape>(goType: string, shape: S) {
  return field(z.record(z.string(), goStructValue(goType, shape).nullable()), { go: `map[string]*${goType}` });
}

/** map[string][]T (nat.PortMap): a `null` list is an empty one. */
export function goStructListMap<S extends z.ZodRawShape>(mapType: string, goType: string, shape: S) {
  return field(z.record(z.string(), z.array(goStructValue(goType, shape)).nullable()), { go: mapType });
}

function goStructValue<S extends z.ZodRawShape>(goType: string, shape: S) {
  return z.looseObject(shape).meta({ go: goType, struct: shortName(goType) });
}

function shortName(goType: string): string {
  return goType.slice(goType.lastIndexOf('.') + 1);
}

export function goMetaOf(schema: z.ZodType): GoMeta | undefined {
  return z.globalRegistry.get(unwrap(schema)) as GoMeta | undefined;
}

/** Strips the nullish/transform wrappers `field` adds, down to the schema that carries the metadata. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let node = schema;
  for (;;) {
    const def = node._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (!z.globalRegistry.has(node) && (def.type === 'optional' || def.type === 'nullable')) node = def.innerType as z.ZodType;
    else if (!z.globalRegistry.has(node) && def.type === 'pipe') node = def.in as z.ZodType;
    else return node;
  }
}

/** The schema one step down `key` from a struct, list, map or fixed array; undefined past a union or leaf. */
export function childOf(schema: z.ZodType, key: PropertyKey): z.ZodType | undefined {
  const def = unwrap(schema)._zod.def as {
    type: string;
    shape?: Record<string, z.ZodType>;
    element?: z.ZodType;
    valueType?: z.ZodType;
    items?: z.ZodType[];
  };
  if (def.type === 'object') return def.shape?.[String(key)];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  if (def.type === 'tuple') return def.items?.[Number(key)];
  return undefined;
}

/**
 * encoding/json's UnmarshalTypeError text for an issue at `path`: the innermost struct's name, then the path of
 * field names from the root (list indexes and map keys are not named), then the Go type of the field.
 */
export function goJsonMessage(root: z.ZodType, input: unknown, path: readonly PropertyKey[]): string {
  let node = root;
  let value = input;
  let struct: string | undefined;
  const fields: string[] = [];
  for (const key of path) {
    const next = childOf(node, key);
    if (!next) break;
    if (unwrap(node)._zod.def.type === 'object') {
      struct = goMetaOf(node)?.struct;
      fields.push(String(key));
    }
    node = next;
    value = (value as Record<PropertyKey, unknown>)?.[key];
  }
  const type = goMetaOf(node)?.go ?? 'interface {}';
  const kind = jsonKind(value, type);
  if (!fields.length) return `json: cannot unmarshal ${kind} into Go value of type ${type}`;
  return `json: cannot unmarshal ${kind} into Go struct field ${struct}.${fields.join('.')} of type ${type}`;
}

function jsonKind(value: unknown, goType: string): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  // Go names the literal when a number does not fit an integer field.
  if (typeof value === 'number') return goType in intRanges ? `number ${value}` : 'number';
  return typeof value;
}
