import { BlockList, isIP } from 'node:net';
import type { Config } from '../base/config.ts';
import { Fault } from '../base/fault.ts';
import type { Access, Identity } from './authorizer.ts';
import { escapeRegex, globSource } from './glob-source.ts';

export type AclRule = Config['auth']['acl'][number];

export interface AclContext {
  identity: Identity;
  ip: string;
  anonymousPull: boolean;
}

type Resource = Pick<Access, 'type' | 'name'>;

/** The ACL with its patterns compiled once: pure decisions, no I/O. */
export interface Acl {
  /** The actions the caller may take on one resource (`*` expanded to pull, push, delete). */
  allowedActions(ctx: AclContext, resource: Resource): string[];
  /** Narrows each requested access to what the ACL allows (the token server grants the intersection). */
  grant(ctx: AclContext, requested: Access[]): Access[];
  /** The names the caller may pull: what `_catalog` and search list. */
  pullable(ctx: AclContext, names: string[]): string[];
}

export const aclActions = ['pull', 'push', 'delete', '*'] as const;

interface CompiledRule {
  account?: Pattern;
  name?: Pattern;
  ip?: BlockList;
  actions: string[];
}

/**
 * Ordered rules in the manner of docker_auth: the first rule whose `match` fits decides, and no fitting rule means
 * no access. Admins may always do everything (that is what the flag means). Without rules, the default policy: a
 * signed-in user pulls everything and pushes or deletes under `<account>/`, anonymous callers pull only when
 * anonymousPull is on. Throws invalid-argument on a rule that cannot work (bad regex, CIDR or action), so a bad
 * config fails at start instead of on a request.
 */
export function compileAcl(rules: readonly AclRule[]): Acl {
  const compiled = rules.map((rule, index) => compileRule(rule, index));
  const byPolicy = (ctx: AclContext, resource: Resource): string[] => {
    // The catalog and search (dockerd asks `registry:catalog:search`) are filtered per caller (pullable), so
    // reading them needs only what pulling would.
    if (resource.type === 'registry') return ctx.identity.account || ctx.anonymousPull ? ['*', 'search'] : [];
    if (ctx.identity.admin) return expand(['*']);
    if (resource.type !== 'repository') return [];
    if (compiled.length === 0) return defaultPolicy(ctx, resource.name);
    const rule = compiled.find((r) => ruleMatches(r, ctx, resource.name));
    return rule ? rule.actions : [];
  };
  const allowedActions = (ctx: AclContext, resource: Resource): string[] => {
    const actions = byPolicy(ctx, resource);
    const scopes = ctx.identity.scopes;
    return scopes ? actions.filter((a) => scopesAllow(scopes, resource, a)) : actions;
  };
  return {
    allowedActions,
    grant: (ctx, requested) =>
      requested.map((access) => {
        const allowed = allowedActions(ctx, access);
        return { ...access, actions: access.actions.filter((a) => allowed.includes(a)) };
      }),
    pullable: (ctx, names) => names.filter((name) => allowedActions(ctx, { type: 'repository', name }).includes('pull')),
  };
}

function defaultPolicy(ctx: AclContext, name: string): string[] {
  const { account } = ctx.identity;
  if (!account) return ctx.anonymousPull ? ['pull'] : [];
  return name.startsWith(`${account}/`) ? ['pull', 'push', 'delete'] : ['pull'];
}

function expand(actions: readonly string[]): string[] {
  return actions.includes('*') ? ['pull', 'push', 'delete', '*'] : [...actions];
}

function compileRule(rule: AclRule, index: number): CompiledRule {
  const where = `auth.acl[${index}]`;
  const unknown = rule.actions.filter((a) => !(aclActions as readonly string[]).includes(a));
  if (unknown.length) throw new Fault('invalid-argument', `${where}: unknown action "${unknown[0]}" (want pull, push, delete or *)`);
  const { account, name, ip } = rule.match;
  return {
    account: account === undefined ? undefined : compilePattern(account, `${where}.match.account`),
    name: name === undefined ? undefined : compilePattern(name, `${where}.match.name`),
    ip: ip === undefined ? undefined : compileCidrs(ip, `${where}.match.ip`),
    actions: expand(rule.actions),
  };
}

function ruleMatches(rule: CompiledRule, ctx: AclContext, name: string): boolean {
  const account = ctx.identity.account ?? '';
  if (rule.account && !rule.account.matchesAccount(account)) return false;
  if (rule.name && !rule.name.matches(name, account)) return false;
  if (rule.ip && !cidrContains(rule.ip, ctx.ip)) return false;
  return true;
}

interface Pattern {
  /** `${account}` expands to the caller's account; a pattern using it never matches an anonymous caller. */
  matches(value: string, account: string): boolean;
  /** Accounts: "" matches anonymous callers; globs match only signed-in ones; a /regex/ is tested on "". */
  matchesAccount(account: string): boolean;
}

/** `/regex/`, or a glob where `*` and `?` stay within a path component and `**` crosses them. */
export function compilePattern(pattern: string, where = 'pattern'): Pattern {
  const isRegex = pattern.length > 1 && pattern.startsWith('/') && pattern.endsWith('/');
  // Split around the placeholder so the account is always matched literally, whatever characters it holds.
  const pieces = (isRegex ? pattern.slice(1, -1) : pattern).split('${account}');
  const sources = isRegex ? pieces : pieces.map(globSource);
  const usesAccount = pieces.length > 1;
  const build = (account: string) => {
    const body = sources.join(escapeRegex(account));
    return new RegExp(isRegex ? body : `^${body}$`);
  };
  try {
    build('x');
  } catch (err) {
    throw new Fault('invalid-argument', `${where}: invalid pattern "${pattern}"`, { cause: err });
  }
  const fixed = usesAccount ? undefined : build('');
  const matches = (value: string, account: string): boolean => {
    if (fixed) return fixed.test(value);
    return account !== '' && build(account).test(value);
  };
  return {
    matches,
    matchesAccount: (account) => {
      if (account !== '') return matches(account, account);
      return isRegex ? matches('', '') : pattern === '';
    },
  };
}

/**
 * True when one of `scopes` (a robot token's, names possibly globs) allows `action` on `resource`. `*` in a scope
 * allows every action; a requested `*` (the catalog) needs a scope with `*`.
 */
export function scopesAllow(scopes: readonly Access[], resource: Resource, action: string): boolean {
  return scopes.some(
    (s) => s.type === resource.type && (s.actions.includes(action) || s.actions.includes('*')) && compilePattern(s.name).matches(resource.name, ''),
  );
}

/** Kept for callers that test one pattern at a time. */
export function patternMatches(pattern: string, value: string, account: string): boolean {
  return compilePattern(pattern).matches(value, account);
}


/** One CIDR or several separated by commas: `10.0.0.0/8,fd00::/8`. A bare address means /32 or /128. */
function compileCidrs(spec: string, where: string): BlockList {
  const list = new BlockList();
  for (const cidr of spec.split(',').map((s) => s.trim())) {
    const [network, bits, extra] = cidr.split('/');
    const family = isIP(network);
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
    const max = family === 4 ? 32 : 128;
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new Fault('invalid-argument', `${where}: invalid CIDR "${cidr}"`);
    }
    list.addSubnet(network, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

function cidrContains(list: BlockList, ip: string): boolean {
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; rules are written with the IPv4 form.
  const address = /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
  const family = isIP(address);
  if (!family) return false;
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** @see Acl.allowedActions — compiles the rules on each call; prefer compileAcl once. */
export function allowedActions(rules: readonly AclRule[], ctx: AclContext, resource: Resource): string[] {
  return compileAcl(rules).allowedActions(ctx, resource);
}

/** @see Acl.grant — used by the v1 routes with the raw config rules. */
export function grant(rules: readonly AclRule[], ctx: AclContext, requested: Access[]): Access[] {
  return compileAcl(rules).grant(ctx, requested);
}

/** @see Acl.pullable */
export function pullableNames(rules: readonly AclRule[], ctx: AclContext, names: string[]): string[] {
  return compileAcl(rules).pullable(ctx, names);
}
