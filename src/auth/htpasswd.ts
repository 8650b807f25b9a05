import { readFileSync } from 'node:fs';

export interface HtpasswdFile {
  /** name -> bcrypt hash */
  entries: Map<string, string>;
  /** Names whose hash is not bcrypt (`$apr1$`, `{SHA}`, crypt): refused, as distribution refuses them. */
  ignored: string[];
}

// `htpasswd -B` writes $2y$ (PHP's name for the fixed $2a$); bcryptjs verifies $2a$, $2b$ and $2y$ alike.
const bcryptHash = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** `name:hash` lines; blank lines and `#` comments skipped; the first entry for a name wins, as in Apache. */
export function parseHtpasswd(text: string): HtpasswdFile {
  const entries = new Map<string, string>();
  const ignored: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const colon = trimmed.indexOf(':');
    if (colon <= 0) continue;
    const name = trimmed.slice(0, colon);
    const hash = trimmed.slice(colon + 1).trim();
    if (entries.has(name)) continue;
    if (bcryptHash.test(hash)) entries.set(name, hash);
    else ignored.push(name);
  }
  return { entries, ignored };
}

export function readHtpasswd(path: string): HtpasswdFile {
  return parseHtpasswd(readFileSync(path, 'utf8'));
}

/** One line as `htpasswd -nB` prints it. */
export function formatHtpasswdLine(name: string, hash: string): string {
  return `${name}:${hash}`;
}
