/**
 * Admin commands of the auth part: `wharf user add|passwd|del|list|import`, `wharf token create|list|revoke`,
 * `wharf cert generate`, `wharf cert token`.
 *
 * Wiring (src/cli/admin-commands.ts): `registerAuthCommands(program, open, addCommon)` where
 * - `open(flags)` receives the parsed `--root` / `--config` / `--meta-url` flags and resolves to an `AdminContext`:
 *   the same Config and the same metadata backend (<root>/meta.db, WAL + busy_timeout, or `meta.url`'s
 *   PostgreSQL) that `serve` uses, so these commands work while the server runs; the command calls `close()`;
 * - `addCommon(command)` adds those flags (`--root`, `--config`) to each command that needs the database.
 * Passwords are read from stdin only (`--password-stdin`), never from the command line.
 */
import type { Command } from 'commander';
import type { Config } from '../base/config.ts';
import { Fault } from '../base/fault.ts';
import type { MetaStores } from '../meta/meta-stores.ts';
import type { UserStore } from '../meta/user-store.ts';
import { htpasswdManaged, isValidUserName, maxPasswordLength, minPasswordLength, robotTokenScopes, validUserName } from './account-rules.ts';
import { hashPassword, newAccessToken } from './accounts.ts';
import { generateCertificates } from './cert-generate.ts';
import { tokenKeyDir } from './create-authorizer.ts';
import { readHtpasswd } from './htpasswd.ts';
import { ensureTokenCertificate, tokenCertFile } from './token-certificate.ts';
import { loadOrCreateTokenKeys, tokenKeySeedSecret } from './token-keys.ts';

/** What the CLI hands admin commands: the same config and metadata backend `serve` uses (`--root`, `--config`, `--meta-url`). */
export interface AdminContext {
  config: Config;
  stores: MetaStores;
  close(): Promise<void>;
}

export type OpenAdminContext = (flags: { config?: string; root?: string; metaUrl?: string }) => Promise<AdminContext>;
type AddCommon = (command: Command) => Command;

/** Where commands read passwords and write their output; the process's by default, replaced in tests. */
export interface CliIo {
  stdin: AsyncIterable<Buffer | string>;
  out(line: string): void;
  now(): Date;
}

const processIo: CliIo = {
  stdin: process.stdin,
  out: (line) => process.stdout.write(`${line}\n`),
  now: () => new Date(),
};

interface Deps {
  open: OpenAdminContext;
  io: CliIo;
}

type Flags = { config?: string; root?: string } & Record<string, unknown>;

export function registerAuthCommands(program: Command, open: OpenAdminContext, addCommon: AddCommon = (c) => c, io: CliIo = processIo): void {
  const deps = { open, io };
  registerUserCommands(program.command('user').description('registry users (bcrypt, in <root>/meta.db)'), deps, addCommon);
  registerTokenCommands(program.command('token').description('revocable access tokens for robots and CI, used as passwords'), deps, addCommon);
  registerCertCommands(program.command('cert').description('TLS certificates, and the token signing key\'s certificate'), deps, addCommon);
}

function registerCertCommands(cert: Command, deps: Deps, addCommon: AddCommon): void {
  cert
    .command('generate')
    .description('a self-signed CA and a server certificate for the registry (uses openssl)')
    .requiredOption('--out <dir>', 'where to write ca.crt, ca.key, server.crt, server.key')
    .option('--host <host...>', 'names and addresses the certificate covers (the first is the CN)', ['127.0.0.1', 'localhost'])
    .option('--port <port>', 'registry port, for the printed instructions', '5000')
    .action((flags: { out: string; host: string[]; port: string }) => {
      deps.io.out(generateCertificates({ out: flags.out, hosts: flags.host, port: Number(flags.port) }).instructions);
    });
  addCommon(cert.command('token').description(`print the certificate of the token signing key (<keyDir>/${tokenCertFile}, made with the key if missing): registry:2's auth.token.rootcertbundle`))
    .action(async (flags: Flags) => {
      const ctx = await deps.open(flags);
      try {
        const dir = tokenKeyDir(ctx.config);
        const seed = await ctx.stores.secrets.secret(tokenKeySeedSecret);
        const keys = await loadOrCreateTokenKeys(dir, { algorithm: ctx.config.auth.token.algorithm, seed });
        deps.io.out(ensureTokenCertificate(dir, keys.publicKey).trimEnd());
      } finally {
        await ctx.close();
      }
    });
}

function registerUserCommands(user: Command, deps: Deps, addCommon: AddCommon): void {
  addCommon(user.command('add <name>').description('add a user; the password is read from stdin'))
    .option('--admin', 'may do everything, whatever the ACL says')
    .option('--email <email>', 'contact address', '')
    .option('--password-stdin', 'read the password from stdin (the only way)')
    .action((name: string, flags: Flags) =>
      withUsers(deps, flags, async (users, ctx) => {
        const password = await readPassword(deps.io);
        await users.addUser({ name: validUserName(name), passwordHash: await hashPassword(password), admin: Boolean(flags.admin), email: String(flags.email ?? ''), createdAt: deps.io.now().toISOString() });
        deps.io.out(`user ${name} added${flags.admin ? ' (admin)' : ''}`);
        if (shadowedByHtpasswd(ctx.config, name)) deps.io.out(`note: ${name} is also in ${ctx.config.auth.htpasswd}, whose password wins`);
      }),
    );
  addCommon(user.command('passwd <name>').description('change a password read from stdin'))
    .option('--password-stdin', 'read the password from stdin (the only way)')
    .action((name: string, flags: Flags) =>
      withUsers(deps, flags, async (users, ctx) => {
        refuseHtpasswdName(ctx.config, name);
        await users.updateUser(name, { passwordHash: await hashPassword(await readPassword(deps.io)) });
        deps.io.out(`password of ${name} changed`);
      }),
    );
  addCommon(user.command('del <name>').description('delete a user and their tokens')).action((name: string, flags: Flags) =>
    withUsers(deps, flags, async (users) => {
      if (!(await users.deleteUser(name))) throw new Fault('not-found', `user ${name} does not exist`);
      deps.io.out(`user ${name} deleted`);
    }),
  );
  addCommon(user.command('list').description('list users: name, role (and "(disabled)"), email, created')).action((flags: Flags) =>
    withUsers(deps, flags, async (users) => {
      for (const u of await users.listUsers()) deps.io.out(`${u.name}\t${u.admin ? 'admin' : 'user'}${u.disabled ? ' (disabled)' : ''}\t${u.email}\t${u.createdAt}`);
    }),
  );
  addCommon(user.command('disable <name>').description('refuse the user\'s password, robot tokens and UI sessions everywhere')).action((name: string, flags: Flags) =>
    withUsers(deps, flags, async (users, ctx) => {
      refuseHtpasswdName(ctx.config, name);
      await users.updateUser(name, { disabled: true });
      await ctx.stores.sessions.deleteUser(name);
      deps.io.out(`user ${name} disabled`);
    }),
  );
  addCommon(user.command('enable <name>').description('let a disabled user sign in again')).action((name: string, flags: Flags) =>
    withUsers(deps, flags, async (users, ctx) => {
      refuseHtpasswdName(ctx.config, name);
      await users.updateUser(name, { disabled: false });
      deps.io.out(`user ${name} enabled`);
    }),
  );
  addCommon(user.command('import <htpasswd>').description('import the bcrypt users of an htpasswd file (existing names are kept)')).action(
    (file: string, flags: Flags) => withUsers(deps, flags, (users) => importHtpasswd(users, file, deps.io)),
  );
}

async function importHtpasswd(users: UserStore, file: string, io: CliIo): Promise<void> {
  const { entries, ignored } = readHtpasswd(file);
  let added = 0;
  const skipped: string[] = [...ignored.map((n) => `${n} (not bcrypt)`)];
  for (const [name, hash] of entries) {
    if (!isValidUserName(name)) skipped.push(`${name} (invalid name)`);
    else if (await users.getUser(name)) skipped.push(`${name} (exists)`);
    else {
      await users.addUser({ name, passwordHash: hash, admin: false, email: '', createdAt: io.now().toISOString() });
      added++;
    }
  }
  io.out(`${added} users imported`);
  for (const line of skipped) io.out(`skipped ${line}`);
}

function registerTokenCommands(token: Command, deps: Deps, addCommon: AddCommon): void {
  addCommon(token.command('create').description('create a token; its secret is printed once, use it as the password'))
    .requiredOption('--user <name>', 'the account the token acts as')
    .option('--scope <scope...>', 'e.g. repository:team/app:pull,push or repository:team/*:pull (default: all the user may do)', [])
    .option('--description <text>', 'what it is for', '')
    .action((flags: Flags & { user: string; scope: string[]; description: string }) =>
      withUsers(deps, flags, async (users) => {
        if (!(await users.getUser(flags.user))) throw new Fault('not-found', `user ${flags.user} does not exist`);
        const scopes = robotTokenScopes(flags.scope);
        const created = newAccessToken();
        await users.addToken({ id: created.id, user: flags.user, secretHash: created.secretHash, scopes, description: flags.description, createdAt: deps.io.now().toISOString() });
        deps.io.out(created.password);
      }),
    );
  addCommon(token.command('list').description('list tokens: id, user, scopes, state, description'))
    .option('--user <name>', 'only this user\'s tokens')
    .action((flags: Flags & { user?: string }) =>
      withUsers(deps, flags, async (users) => {
        for (const t of await users.listTokens(flags.user)) {
          deps.io.out(`${t.id}\t${t.user}\t${t.scopes.join(' ')}\t${t.revokedAt ? `revoked ${t.revokedAt}` : 'active'}\t${t.description}`);
        }
      }),
    );
  addCommon(token.command('revoke <id>').description('revoke a token; it stops working at once')).action((id: string, flags: Flags) =>
    withUsers(deps, flags, async (users) => {
      if (!(await users.revokeToken(id, deps.io.now().toISOString()))) throw new Fault('not-found', `no active token ${id}`);
      deps.io.out(`token ${id} revoked`);
    }),
  );
}

async function withUsers(deps: Deps, flags: Flags, work: (users: UserStore, ctx: AdminContext) => Promise<void>): Promise<void> {
  const ctx = await deps.open(flags);
  try {
    await work(ctx.stores.users, ctx);
  } finally {
    await ctx.close();
  }
}

/** The file's entry wins over a store row of the same name (accounts.ts): changing the row would change nothing. */
function refuseHtpasswdName(config: Config, name: string): void {
  if (shadowedByHtpasswd(config, name)) throw htpasswdManaged(name);
}

function shadowedByHtpasswd(config: Config, name: string): boolean {
  if (!config.auth.htpasswd) return false;
  try {
    return readHtpasswd(config.auth.htpasswd).entries.has(name);
  } catch {
    return false;
  }
}

async function readPassword(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > maxPasswordLength + 2) throw new Fault('invalid-argument', `password longer than ${maxPasswordLength} bytes`);
    chunks.push(buffer);
  }
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password.length < minPasswordLength) throw new Fault('invalid-argument', `password must have at least ${minPasswordLength} characters (read from stdin)`);
  return password;
}
