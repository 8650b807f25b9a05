import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { robotTokenScopes } from '../../auth/account-rules.ts';
import { newAccessToken } from '../../auth/accounts.ts';
import { Fault, isFault } from '../../base/fault.ts';
import type { AccessTokenRecord } from '../../meta/user-store.ts';
import type { CreatedToken, TokenRow } from '../../web/api-types.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';
import { refuseWithoutAccounts } from '../auth/refuse-without-accounts.ts';

const userName = z.string().min(1).max(255);
const listQuery = z.strictObject({ user: userName.optional() });
const newTokenBody = z.strictObject({
  user: userName,
  /** As `wharf token create --scope`: none means all the user may do. */
  scopes: z.array(z.string().min(1).max(1024)).max(100).default([]),
  description: z.string().max(1024).default(''),
});
const idParams = z.strictObject({ id: z.string().min(1).max(64) });

/** GET/POST /api/v1/tokens and DELETE /api/v1/tokens/:id (admins): robot tokens — docs/api.md "Sessions and accounts". */
export function registerTokensRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'config' | 'stores'>): void {
  const users = deps.stores.users;

  api.get('/tokens', async (request): Promise<{ tokens: TokenRow[] }> => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    const query = parseInput(listQuery, request.query, 'query');
    return { tokens: (await users.listTokens(query.user)).map(toRow) };
  });

  api.post('/tokens', async (request, reply) => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    refuseWithoutAccounts(deps.config);
    const body = parseInput(newTokenBody, request.body, 'body');
    const scopes = scopesOf(body.scopes);
    const created = newAccessToken();
    const token: AccessTokenRecord = { id: created.id, user: body.user, secretHash: created.secretHash, scopes, description: body.description, createdAt: new Date().toISOString() };
    // The store refuses a user that does not exist (not-found), in one statement with the insert.
    await users.addToken(token);
    const answer: CreatedToken = { ...toRow(token), secret: created.password };
    return reply.code(201).header('cache-control', 'no-store').send(answer);
  });

  api.delete('/tokens/:id', async (request, reply) => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    refuseWithoutAccounts(deps.config);
    const { id } = parseInput(idParams, request.params, 'id');
    if (!(await users.revokeToken(id, new Date().toISOString()))) throw new Fault('not-found', `no active token ${id}`);
    return reply.code(204).send();
  });
}

/** The CLI's reading of scopes; a bad one is a 400 naming the field. */
function scopesOf(requested: string[]): string[] {
  try {
    return robotTokenScopes(requested);
  } catch (err) {
    if (isFault(err, 'invalid-argument')) throw new Fault('invalid-argument', `scopes: ${err.message}`, { code: 'INVALID' });
    throw err;
  }
}

function toRow(token: AccessTokenRecord): TokenRow {
  return { id: token.id, user: token.user, scopes: token.scopes, description: token.description, createdAt: token.createdAt, revokedAt: token.revokedAt ?? null };
}
