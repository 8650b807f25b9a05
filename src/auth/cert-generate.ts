import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Fault } from '../base/fault.ts';

export interface GeneratedCertificates {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** What to run next: the serve flags and dockerd's certs.d trust, as printed by `wharf cert generate`. */
  instructions: string;
}

const hostPattern = /^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/**
 * A self-signed CA (P-256, 10 years) and a server certificate it signs (825 days, the longest clients accept) for
 * `hosts` as subjectAltNames, through the `openssl` CLI: node:crypto cannot build X.509 certificates. Keys 0600.
 */
export function generateCertificates(options: { out: string; hosts: string[]; port?: number; openssl?: string }): GeneratedCertificates {
  const { out, hosts } = options;
  if (hosts.length === 0) throw new Fault('invalid-argument', 'at least one --host is needed');
  for (const host of hosts) if (!isIP(host) && !hostPattern.test(host)) throw new Fault('invalid-argument', `invalid host "${host.slice(0, 100)}"`);
  const path = (name: string) => join(out, name);
  const openssl = (args: string[]) => {
    try {
      execFileSync(options.openssl ?? 'openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Fault('unavailable', `openssl ${args[0]} failed: ${stderr || (err as Error).message}`, { cause: err });
    }
  };
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-days', '3650', '-subj', '/CN=wharf CA', '-keyout', path('ca.key'), '-out', path('ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', ...ec, '-subj', `/CN=${hosts[0]}`, '-keyout', path('server.key'), '-out', path('server.csr')]);
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(path('server.ext'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
  openssl(['x509', '-req', '-in', path('server.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key'), '-CAcreateserial',
    '-days', '825', '-sha256', '-out', path('server.crt'), '-extfile', path('server.ext')]);
  for (const leftover of ['server.csr', 'server.ext', 'ca.srl']) rmSync(path(leftover), { force: true });
  chmodSync(path('server.key'), 0o600);
  chmodSync(path('ca.key'), 0o600);
  return { caCert: path('ca.crt'), serverCert: path('server.crt'), serverKey: path('server.key'), instructions: instructions(out, hosts[0], options.port ?? 5000) };
}

function instructions(out: string, host: string, port: number): string {
  const hostPort = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  return [
    `wrote ${join(out, 'ca.crt')}, ${join(out, 'server.crt')}, ${join(out, 'server.key')} (keep ca.key offline)`,
    `serve:   wharf registry serve --addr ${hostPort} --tls-cert ${join(out, 'server.crt')} --tls-key ${join(out, 'server.key')}`,
    `dockerd: mkdir -p /etc/docker/certs.d/${hostPort} && cp ${join(out, 'ca.crt')} /etc/docker/certs.d/${hostPort}/ca.crt`,
    `skopeo:  --cert-dir DIR with ca.crt copied into DIR`,
  ].join('\n');
}
