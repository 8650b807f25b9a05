import { Fault } from './fault.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:5000`, `[::1]:5000` or `:5000` (which still binds loopback only: nothing listens wider unless asked). */
export function parseListenAddress(addr: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new Fault('invalid-argument', `invalid listen address "${addr}": want HOST:PORT`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

/** Go's net.JoinHostPort: `host:port`, an IPv6 host in brackets (`[::1]:5000`), as URLs and listen addresses want. */
export function formatHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
