/*
 * The host's resolvers, where the embedded DNS forwards what it does not know. The file is re-read only when it
 * changes (mtime, size or inode: editors and resolvconf replace it by rename), so a DHCP or VPN change is picked
 * up without an engine restart while a flood of forwarded queries costs one stat each, not a read.
 */
import { readFileSync, statSync } from 'node:fs';

/** `nameserver` lines of a resolv.conf, in order (resolv.conf(5)). */
export function parseNameservers(text: string): string[] {
  const servers: string[] = [];
  for (const line of text.split('\n')) {
    const [keyword, address] = line.trim().split(/\s+/);
    if (keyword === 'nameserver' && address !== undefined) servers.push(address);
  }
  return servers;
}

/** A reader of `path`'s nameservers that caches them until the file's mtime or size changes; a missing file has none. */
export function hostResolvers(path = '/etc/resolv.conf'): () => string[] {
  let seen = '';
  let servers: string[] = [];
  return () => {
    const stat = statSync(path, { throwIfNoEntry: false });
    const stamp = stat === undefined ? 'missing' : `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    if (stamp !== seen) {
      servers = stat === undefined ? [] : parseNameservers(readFileSync(path, 'utf8'));
      seen = stamp;
    }
    return servers;
  };
}
