import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Accounts, hashPassword } from '../../auth/accounts.ts';
import type { Config } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';
import { readJsonBody } from './v1-body.ts';

export interface V1UsersDeps {
  accounts: Accounts;
  config: Config;
  now?: () => Date;
}

// hub_registry_spec: usernames of 4 to 30 of [a-z0-9_]; here also a valid repository component, since
// `<account>/…` is the account's namespace.
const usernamePattern = /^[a-z0-9](?:[a-z0-9_]{2,28})[a-z0-9]$/;
const minPasswordLength = 5;

/**
 * docker 1.x's word for "this account exists, try logging in": `loginV1` compares the 400 body with exactly this
 * JSON string, then retries `GET /v1/users/` with Basic. So this one answer is not `{"error"}`.
 */
export const usernameTakenBody = '"Username or email already exists"';

/**
 * docker 1.x accounts (hub_registry_spec "Users"), backed by the auth part's users: `GET /v1/users/` logs in with
 * Basic (200/401), `POST /v1/users/` signs up (201; 400 when taken), `PUT /v1/users/<name>/` changes the password
 * or email. With sign-up off, POST answers 401, on which docker 1.x falls back to the Basic login.
 */
export class V1Users {
  readonly #accounts: Accounts;
  readonly #config: Config;
  readonly #now: () => Date;

  constructor(deps: V1UsersDeps) {
    this.#accounts = deps.accounts;
    this.#config = deps.config;
    this.#now = deps.now ?? (() => new Date());
  }

  async login(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (this.#config.auth.mode !== 'none') await this.#basic(request);
    return reply.send('OK');
  }

  async signup(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!this.#config.auth.signup) throw new Fault('unauthenticated', 'sign-up is disabled on this registry: log in with an existing account');
    const body = await readJsonBody(request, 64 * 1024);
    const { username, password, email } = body;
    if (typeof username !== 'string' || !usernamePattern.test(username)) {
      throw new Fault('invalid-argument', 'Invalid username: 4 to 30 of a-z, 0-9 and _, starting and ending with a letter or digit');
    }
    if (typeof password !== 'string' || password.length < minPasswordLength || password.length > 1024) {
      throw new Fault('invalid-argument', `Invalid password: at least ${minPasswordLength} characters`);
    }
    if (email !== undefined && typeof email !== 'string') throw new Fault('invalid-argument', 'Invalid email');
    if (await this.#accounts.nameTaken(username)) return reply.code(400).type('application/json').send(usernameTakenBody);
    const user = { name: username, passwordHash: await hashPassword(password), admin: false, email: email ?? '', createdAt: this.#now().toISOString() };
    try {
      await this.#accounts.users.addUser(user);
    } catch (err) {
      // Two sign-ups of one name at once: the store's uniqueness decides, the loser hears what docker expects.
      if (err instanceof Fault && err.kind === 'already-exists') return reply.code(400).type('application/json').send(usernameTakenBody);
      throw err;
    }
    return reply.code(201).send('User Created');
  }

  async update(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { name } = request.params as { name: string };
    const identity = await this.#basic(request);
    // A robot token is a repository credential: with it a leaked CI secret could take over the account (or, on an
    // admin's, any account) and sign in to the UI. Only the password itself changes an account.
    if (identity.tokenId) throw new Fault('permission-denied', 'a robot token cannot change an account: log in with the password');
    if (identity.account !== name && !identity.admin) throw new Fault('permission-denied', `only ${name.slice(0, 64)} or an admin may change this account`);
    const body = await readJsonBody(request, 64 * 1024);
    const changes: { passwordHash?: string; email?: string } = {};
    if (body.password !== undefined) {
      if (typeof body.password !== 'string' || body.password.length < minPasswordLength || body.password.length > 1024) {
        throw new Fault('invalid-argument', `Invalid password: at least ${minPasswordLength} characters`);
      }
      changes.passwordHash = await hashPassword(body.password);
    }
    if (body.email !== undefined) {
      if (typeof body.email !== 'string') throw new Fault('invalid-argument', 'Invalid email');
      changes.email = body.email;
    }
    // A name the htpasswd file holds is checked there (accounts.ts #lookup): a store row of it would change nothing.
    if (this.#accounts.inHtpasswd(name) || !(await this.#accounts.users.getUser(name))) throw new Fault('not-found', `account ${name.slice(0, 64)} is not managed here (htpasswd file or unknown)`);
    await this.#accounts.users.updateUser(name, changes);
    return reply.code(204).send();
  }

  async #basic(request: FastifyRequest) {
    const login = await this.#accounts.authenticateBasic(request.headers.authorization, request.ip);
    if (login.ok) return login.principal.identity;
    if (login.reason === 'rate-limited') {
      throw new Fault('unavailable', `too many failed logins, retry in ${login.retryAfter} seconds`, { code: 'TOOMANYREQUESTS', detail: { retryAfter: login.retryAfter } });
    }
    throw new Fault('unauthenticated', login.reason === 'missing' ? 'authentication required' : 'Wrong username or password');
  }
}
