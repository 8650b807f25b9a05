import type { Command } from 'commander';
import { type Config, type ConfigInput, loadConfig } from '../base/config.ts';

/** Flags shared by `serve` and every admin command, so both find the same data. */
export interface CommonFlags {
  config?: string;
  root?: string;
}

/** `--meta-url`: on the commands that open the metadata (serve, registry serve, auth serve, admin commands). */
export interface MetaFlags {
  metaUrl?: string;
}

/** `--proxy-*`: on the commands that run the registry (serve, registry serve), as distribution's `proxy.*`. */
export interface ProxyFlags {
  proxyRemoteUrl?: string;
  proxyUsername?: string;
  proxyPassword?: string;
}

export interface ServeFlags extends CommonFlags, MetaFlags, ProxyFlags {
  addr?: string;
  auth?: 'none' | 'htpasswd' | 'token';
  htpasswd?: string;
  tlsCert?: string;
  tlsKey?: string;
  socket?: string;
  logLevel?: string;
  /** `wharf auth serve --addr`: where the token server alone listens. */
  tokenAddr?: string;
}

export function addCommonOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'YAML config file (WHARF_* environment variables override it)')
    .option('--root <dir>', 'data directory (default /var/lib/wharf)');
}

export function addMetaOptions(command: Command): Command {
  return command.option('--meta-url <url>', 'metadata in PostgreSQL (postgres://user:password@host:port/db) instead of <root>/meta.db');
}

export function addProxyOptions(command: Command): Command {
  return command
    .option('--proxy-remote-url <url>', 'be a pull-through cache of this registry (http:// or https://) for every name')
    .option('--proxy-username <user>', 'user name for --proxy-remote-url')
    .option('--proxy-password <password>', 'password for --proxy-remote-url');
}

export function addServeOptions(command: Command): Command {
  return addCommonOptions(command)
    .option('--addr <host:port>', 'registry listen address (default 127.0.0.1:5000)')
    .option('--auth <mode>', 'none | htpasswd | token')
    .option('--htpasswd <file>', 'htpasswd file for --auth htpasswd')
    .option('--tls-cert <file>', 'serve the registry over TLS with this certificate')
    .option('--tls-key <file>', 'private key for --tls-cert')
    .option('--socket <path>', 'engine API unix socket (default /run/wharf/wharf.sock)')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent');
}

/** The one place the process environment is read: flags beat env, env beats the file. */
export function configFromFlags(flags: ServeFlags, env: Record<string, string | undefined> = process.env): Config {
  const overrides: ConfigInput = {};
  if (flags.root) overrides.root = flags.root;
  if (flags.metaUrl) overrides.meta = { url: flags.metaUrl };
  if (flags.logLevel) overrides.log = { level: flags.logLevel as Config['log']['level'] };
  const registry: NonNullable<ConfigInput['registry']> = {};
  if (flags.addr) registry.addr = flags.addr;
  if (flags.tlsCert || flags.tlsKey) registry.tls = { cert: flags.tlsCert ?? '', key: flags.tlsKey ?? '' };
  const proxy = proxyOverrides(flags);
  if (proxy) registry.proxy = proxy;
  if (Object.keys(registry).length) overrides.registry = registry;
  const auth: NonNullable<ConfigInput['auth']> = {};
  if (flags.auth) auth.mode = flags.auth;
  if (flags.htpasswd) auth.htpasswd = flags.htpasswd;
  if (flags.tokenAddr) auth.token = { addr: flags.tokenAddr };
  if (Object.keys(auth).length) overrides.auth = auth;
  if (flags.socket) overrides.engine = { socket: flags.socket };
  return loadConfig({ file: flags.config ?? env.WHARF_CONFIG, env, overrides });
}

function proxyOverrides(flags: ProxyFlags): NonNullable<ConfigInput['registry']>['proxy'] {
  const proxy: NonNullable<NonNullable<ConfigInput['registry']>['proxy']> = {};
  if (flags.proxyRemoteUrl !== undefined) proxy.remoteUrl = flags.proxyRemoteUrl;
  if (flags.proxyUsername !== undefined) proxy.username = flags.proxyUsername;
  if (flags.proxyPassword !== undefined) proxy.password = flags.proxyPassword;
  return Object.keys(proxy).length ? proxy : undefined;
}
