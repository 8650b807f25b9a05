import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { zodOnlySchemas } from './zod-only-schemas.ts';

test('routes without schemas serve; a route that declares one fails at start-up, naming why', async () => {
  const plain = Fastify({ schemaController: zodOnlySchemas });
  plain.post('/echo', async (request) => request.body);
  const res = await plain.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
  assert.deepEqual(res.json(), { a: 1 });
  await plain.close();

  const validated = Fastify({ schemaController: zodOnlySchemas });
  validated.post('/echo', { schema: { body: { type: 'object' } } }, async (request) => request.body);
  await assert.rejects(async () => { await validated.ready(); }, /route schemas \(validation\) are not used in wharf/);
  const serialized = Fastify({ schemaController: zodOnlySchemas });
  serialized.get('/x', { schema: { response: { 200: { type: 'object' } } } }, async () => ({}));
  await assert.rejects(async () => { await serialized.ready(); }, /route schemas \(serialization\) are not used in wharf/);
});
