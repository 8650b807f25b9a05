import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { htpasswdManaged, isValidUserName, maxPasswordLength, minPasswordLength } from '../../auth/account-rules.ts';
import { hashPassword } from '../../auth/accounts.ts';
import { Fault } from '../../base/fault.ts';
import type { UserChanges, UserRecord } from '../../meta/user-store.ts';
import type { UserRow } from '../../web/api-types.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';
import { refuseWithoutAccounts } from '../auth/refuse-without-accounts.ts';

const password = z.string().min(minPasswordLength).max(maxPasswordLength);
const email = z.string().max(255);
const newUserBody = z.strictObject({
  name: z.string().refine(isValidUserName, 'a user name is 2-64 of a-z 0-9 . _ -, starting and ending with a letter or digit'),
  password,
  admin: z.boolean().optional(),
  email: email.optional(),
});
const changesBody = z
  .strictObject({ password: password.optional(), admin: z.boolean().optional(), disabled: z.boolean().optional(), email: email.optional() })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');
const nameParams = z.strictObject({ name: z.string().min(1).max(255) });

/** GET/POST /api/v1/users and PATCH /api/v1/users/:name (admins) — docs/api.md "Sessions and accounts". */
export function registerUsersRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'authServices' | 'config' | 'stores'>): void {
  const users = deps.stores.users;
  const accounts = deps.authServices.accounts;

  api.get('/users', async (request): Promise<{ users: UserRow[] }> => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    return { users: (await users.listUsers()).map(toRow) };
  });

  api.post('/users', async (request, reply) => {
    deps.auth.requireAdmin(await deps.auth.caller(request));
    refuseWithoutAccounts(deps.config);
    const body = parseInput(newUserBody, request.body, 'body');
    const { name } = body;
    // A name in the htpasswd file would shadow the new account's password (accounts.ts #lookup).
    if (await accounts.nameTaken(name)) throw new Fault('already-exists', `user ${name} already exists`);
    const user = { name, passwordHash: await hashPassword(body.password), admin: body.admin ?? false, email: body.email ?? '', createdAt: new Date().toISOString() };
    await users.addUser(user);
    return reply.code(201).send(toRow({ ...user, disabled: false }));
  });

  api.patch('/users/:name', async (request): Promise<UserRow> => {
    const caller = await deps.auth.caller(request);
    deps.auth.requireAdmin(caller);
    refuseWithoutAccounts(deps.config);
    const { name } = parseInput(nameParams, request.params, 'name');
    const body = parseInput(changesBody, request.body, 'body');
    // The file's entry wins (accounts.ts #lookup): a change to a store row of the same name would report success
    // and change nothing.
    if (accounts.inHtpasswd(name)) throw htpasswdManaged(name);
    if (caller.identity.account === name && (body.disabled === true || body.admin === false)) {
      throw new Fault('conflict', 'administrators cannot disable themselves or take their own admin flag');
    }
    const changes: UserChanges = { admin: body.admin, disabled: body.disabled, email: body.email };
    if (body.password !== undefined) changes.passwordHash = await hashPassword(body.password);
    await users.updateUser(name, changes);
    // Sessions are bound to the password and re-checked on use; ending them here also frees their rows.
    if (body.password !== undefined || body.disabled === true) await deps.stores.sessions.deleteUser(name);
    const user = await users.getUser(name);
    if (!user) throw new Fault('not-found', `user ${name} does not exist`);
    return toRow(user);
  });
}

function toRow(user: UserRecord): UserRow {
  return { name: user.name, admin: user.admin, disabled: user.disabled, email: user.email, createdAt: user.createdAt };
}
