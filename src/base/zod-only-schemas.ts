import type { FastifyServerOptions } from 'fastify';

/**
 * Fastify's schema controller without its compilers: wharf parses every body, query and parameter with zod in
 * the handler, so a route schema would be a second contract.
 * Given these factories fastify never loads ajv or the fast-json-stringify compiler (~120 modules, ~2.5 MiB of an idle
 * registry's RSS, docs/benchmarks.md); a route that declares a schema fails at start-up instead.
 */
export const zodOnlySchemas: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    buildValidator: () => refuseSchema('validation'),
    buildSerializer: () => refuseSchema('serialization'),
  },
};

function refuseSchema(kind: string): never {
  throw new Error(`fastify route schemas (${kind}) are not used in wharf: parse the input with zod in the handler`);
}
