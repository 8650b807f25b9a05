import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../base/config.ts';
import { isFault } from '../base/fault.ts';
import type { Logger } from '../base/log.ts';
import { type Acl, compileAcl } from './acl.ts';
import type { Accounts, Principal } from './accounts.ts';
import type { Access } from './authorizer.ts';
import { parseAuthorization } from './credentials.ts';
import { formatScope, parseScopes } from './scope.ts';
import { describeIssue, tokenFormSchema, tokenQuerySchema } from './token-schemas.ts';
import type { TokenService } from './token-service.ts';

export interface TokenRouteDeps {
  tokens: TokenService;
  accounts: Accounts;
  config: Config;
  /** The compiled ACL; compiled from config.auth.acl when absent. */
  acl?: Acl;
  logger?: Logger;
}

type Fields = Record<string, string | string[]>;

interface TokenContext {
  deps: TokenRouteDeps;
  acl: Acl;
}

/**
 * The token server (Docker token spec): `GET /auth/token?service=&scope=&account=[&offline_token=true]` with
 * optional Basic credentials (none: an anonymous token holding only what anonymous callers may do), and the OAuth2
 * form `POST /auth/token` (grant_type password or refresh_token; `access_type=offline` adds a refresh_token) that
 * dockerd and containerd use. The public keys as JWKS at `GET /auth/jwks`.
 */
export function registerTokenRoutes(app: FastifyInstance, deps: TokenRouteDeps): void {
  const ctx: TokenContext = { deps, acl: deps.acl ?? compileAcl(deps.config.auth.acl) };
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) =>
      done(null, formFields(body as string)),
    );
    scope.get('/auth/jwks', async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(deps.tokens.jwks));
    scope.get('/auth/token', (request, reply) => handle(() => getToken(request, reply, ctx), reply));
    scope.post('/auth/token', (request, reply) => handle(() => postToken(request, reply, ctx), reply));
  });
}

async function handle(work: () => Promise<FastifyReply>, reply: FastifyReply): Promise<FastifyReply> {
  try {
    return await work();
  } catch (err) {
    if (isFault(err, 'invalid-argument')) return oauthError(reply, 400, 'invalid_scope', err.message);
    throw err;
  }
}

async function getToken(request: FastifyRequest, reply: FastifyReply, ctx: TokenContext): Promise<FastifyReply> {
  const parsed = tokenQuerySchema.safeParse(request.query ?? {});
  if (!parsed.success) return oauthError(reply, 400, 'invalid_request', describeIssue(parsed.error));
  const query = parsed.data;
  const bad = checkService(first(query.service), ctx);
  if (bad) return oauthError(reply, 400, 'invalid_request', bad);
  const requested = parseScopes(all(query.scope), { anyAction: true });
  const credentials = parseAuthorization(request.headers.authorization);
  let principal: Principal = { identity: { admin: false } };
  if (credentials.kind === 'basic') {
    const account = first(query.account);
    if (account !== undefined && account !== '' && account !== credentials.username) {
      return oauthError(reply, 400, 'invalid_request', 'account does not match the credentials');
    }
    const login = await ctx.deps.accounts.login(credentials.username, credentials.password, request.ip);
    if (!login.ok) return loginFailed(reply, login.reason === 'rate-limited' ? login.retryAfter : 0, ctx.deps.config);
    principal = login.principal;
  } else if (credentials.kind !== 'none') {
    return loginFailed(reply, 0, ctx.deps.config);
  }
  const access = grantFor(principal, requested, request.ip, ctx);
  const issued = await ctx.deps.tokens.issue(principal.identity, access);
  const body: Record<string, unknown> = { token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt };
  if (first(query.offline_token) === 'true' && principal.identity.account) {
    body.refresh_token = await refreshFor(principal, ctx);
  }
  return sendToken(reply, body);
}

async function postToken(request: FastifyRequest, reply: FastifyReply, ctx: TokenContext): Promise<FastifyReply> {
  const parsed = tokenFormSchema.safeParse(request.body);
  if (!parsed.success) return oauthError(reply, 400, 'invalid_request', describeIssue(parsed.error));
  const form = parsed.data;
  const bad = checkService(first(form.service), ctx);
  if (bad) return oauthError(reply, 400, 'invalid_request', bad);
  const grantType = first(form.grant_type);
  const requested = parseScopes(all(form.scope), { anyAction: true });
  let principal: Principal;
  let refreshToken: string | undefined;
  if (grantType === 'password') {
    const username = first(form.username);
    const password = first(form.password);
    if (!username || password === undefined) return oauthError(reply, 400, 'invalid_request', 'grant_type=password needs username and password');
    const login = await ctx.deps.accounts.login(username, password, request.ip);
    if (!login.ok) {
      if (login.reason === 'rate-limited') return loginFailed(reply, login.retryAfter, ctx.deps.config);
      return oauthError(reply, 401, 'invalid_grant', 'invalid username or password');
    }
    principal = login.principal;
  } else if (grantType === 'refresh_token') {
    refreshToken = first(form.refresh_token) ?? '';
    const refreshed = await principalFromRefresh(refreshToken, ctx);
    if (!refreshed) return oauthError(reply, 401, 'invalid_grant', 'invalid refresh token');
    principal = refreshed;
  } else {
    return oauthError(reply, 400, 'unsupported_grant_type', `unsupported grant_type "${(grantType ?? '').slice(0, 50)}"`);
  }
  const access = grantFor(principal, requested, request.ip, ctx);
  const issued = await ctx.deps.tokens.issue(principal.identity, access);
  const body: Record<string, unknown> = { access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt, scope: access.map(formatScope).join(' ') };
  if (first(form.access_type) === 'offline' && principal.identity.account) {
    body.refresh_token = refreshToken ?? (await refreshFor(principal, ctx));
  }
  return sendToken(reply, body);
}

function checkService(service: string | undefined, ctx: TokenContext): string | undefined {
  if (service && service !== ctx.deps.tokens.service) return `unknown service "${service.slice(0, 100)}"`;
  return undefined;
}

/** The ACL's answer, capped by a robot token's scopes (carried on the identity), minus what was not asked. */
function grantFor(principal: Principal, requested: Access[], ip: string, ctx: TokenContext): Access[] {
  return ctx.acl.grant({ identity: principal.identity, ip, anonymousPull: ctx.deps.config.auth.anonymousPull }, requested);
}

async function refreshFor(principal: Principal, ctx: TokenContext): Promise<string | undefined> {
  const account = principal.identity.account ?? '';
  const current = await ctx.deps.accounts.current(account, principal.identity.tokenId);
  if (!current) return undefined;
  return ctx.deps.tokens.issueRefresh({ account, tokenId: principal.identity.tokenId, credential: current.credential });
}

/** A refresh token is good while its user exists with the same credential (and its robot token is not revoked). */
async function principalFromRefresh(token: string, ctx: TokenContext): Promise<Principal | undefined> {
  const claims = await ctx.deps.tokens.verifyRefresh(token).catch(() => undefined);
  if (!claims) return undefined;
  const current = await ctx.deps.accounts.current(claims.account, claims.tokenId);
  if (!current || !ctx.deps.tokens.stampMatches(current.credential, claims.stamp)) return undefined;
  return current.principal;
}

function sendToken(reply: FastifyReply, body: Record<string, unknown>): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
}

function loginFailed(reply: FastifyReply, retryAfter: number, config: Config): FastifyReply {
  if (retryAfter > 0) {
    return reply
      .code(429)
      .header('retry-after', String(retryAfter))
      .send({ errors: [{ code: 'TOOMANYREQUESTS', message: `too many failed logins, retry in ${retryAfter} seconds`, detail: { retryAfter } }] });
  }
  return reply
    .code(401)
    .header('www-authenticate', `Basic realm="${config.auth.realm.replaceAll('"', '')}"`)
    .send({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password', detail: {} }] });
}

function oauthError(reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

/** Like a query string: a repeated field (scope) becomes an array. */
function formFields(body: string): Fields {
  const fields: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const seen = fields[key];
    fields[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return fields;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function all(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
