import type { Config } from '../base/config.ts';

// A Host header we are willing to echo into a challenge: a DNS name, IPv4 or bracketed IPv6, optional port.
const hostHeader = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::\d{1,5})?$/;

/**
 * The token endpoint URL for the challenge's `realm`: `auth.token.realm` when set (a token server run alone), else
 * `registry.publicUrl` + `/auth/token`, else the URL the client used to reach us. A Host that is not a plain
 * host[:port] is never echoed (it would break the header's quoting); `registry.addr` stands in.
 */
export function realmFor(config: Config, request: { host?: string; secure?: boolean }): string {
  if (config.auth.token.realm) return config.auth.token.realm;
  if (config.registry.publicUrl) return `${config.registry.publicUrl.replace(/\/+$/, '')}/auth/token`;
  const scheme = (request.secure ?? Boolean(config.registry.tls.cert)) ? 'https' : 'http';
  const host = request.host && hostHeader.test(request.host) ? request.host : listenHost(config.registry.addr);
  return `${scheme}://${host}/auth/token`;
}

function listenHost(addr: string): string {
  return addr.replace(/^0\.0\.0\.0(?=:|$)/, '127.0.0.1').replace(/^\[::\](?=:|$)/, '[::1]');
}
