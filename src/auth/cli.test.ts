import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { connect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { Command } from 'commander';
import { type ConfigInput, loadConfig } from '../base/config.ts';
import { openDatabase } from '../meta/sqlite-database.ts';
import { SqliteUserStore } from '../meta/sqlite-user-store.ts';
import { Accounts } from './accounts.ts';
import { type AdminContext, registerAuthCommands } from './cli.ts';
import { RateLimiter } from './rate-limiter.ts';
import { sqliteMeta } from '../main/open-meta.ts';

describe('wharf user and wharf token', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Runs one command line in-process, as `wharf …` would, with `input` on stdin; returns stdout lines. */
  async function wharf(args: string[], input = '', auth: ConfigInput['auth'] = {}): Promise<string[]> {
    const out: string[] = [];
    const open = async (flags: { root?: string }): Promise<AdminContext> => {
      const stores = sqliteMeta(openDatabase(join(flags.root ?? root, 'meta.db')), 'test');
      return { config: loadConfig({ overrides: { root: flags.root ?? root, auth } }), stores, close: () => stores.close() };
    };
    const program = new Command('wharf').exitOverride().configureOutput({ writeErr: () => {} });
    registerAuthCommands(program, open, (c) => c.option('--root <dir>'), {
      get stdin() {
        return Readable.from([Buffer.from(input)]);
      },
      out: (line) => out.push(line),
      now: () => new Date('2030-01-01T00:00:00Z'),
    });
    await program.parseAsync(['node', 'wharf', ...args, '--root', root]);
    return out;
  }

  const users = async <T>(work: (store: SqliteUserStore) => Promise<T>): Promise<T> => {
    const db = openDatabase(join(root, 'meta.db'));
    try {
      return await work(new SqliteUserStore(db));
    } finally {
      db.close();
    }
  };

  test('user add reads the password from stdin and stores only a bcrypt hash', async () => {
    assert.deepEqual(await wharf(['user', 'add', 'alice', '--password-stdin'], 'alice secret\n'), ['user alice added']);
    assert.deepEqual(await wharf(['user', 'add', 'root', '--admin', '--email', 'r@example.com', '--password-stdin'], 'root-secret'), ['user root added (admin)']);
    const alice = await users((s) => s.getUser('alice'));
    assert.match(alice?.passwordHash ?? '', /^\$2b\$10\$/);
    assert.ok(await bcrypt.compare('alice secret', alice?.passwordHash ?? ''));
    assert.equal((await users((s) => s.getUser('root')))?.admin, true);
  });

  test('user add refuses bad names, short passwords and duplicates', async () => {
    await assert.rejects(wharf(['user', 'add', 'Alice', '--password-stdin'], 'long-enough'), /invalid user name/);
    await assert.rejects(wharf(['user', 'add', '../x', '--password-stdin'], 'long-enough'), /invalid user name/);
    await assert.rejects(wharf(['user', 'add', 'shorty', '--password-stdin'], 'abc\n'), /at least 6/);
    await assert.rejects(wharf(['user', 'add', 'alice', '--password-stdin'], 'another-one'), /already exists/);
  });

  test('user passwd, list and del', async () => {
    await wharf(['user', 'passwd', 'alice', '--password-stdin'], 'new alice secret\n');
    assert.ok(await bcrypt.compare('new alice secret', (await users((s) => s.getUser('alice')))?.passwordHash ?? ''));
    await assert.rejects(wharf(['user', 'passwd', 'ghost', '--password-stdin'], 'whatever-pw'), /does not exist/);
    assert.deepEqual(await wharf(['user', 'list']), ['alice\tuser\t\t2030-01-01T00:00:00.000Z', 'root\tadmin\tr@example.com\t2030-01-01T00:00:00.000Z']);
    await wharf(['user', 'add', 'temp', '--password-stdin'], 'temp-secret');
    assert.deepEqual(await wharf(['user', 'del', 'temp']), ['user temp deleted']);
    await assert.rejects(wharf(['user', 'del', 'temp']), /does not exist/);
  });

  test('user disable refuses the password until user enable, and list shows it', async () => {
    const login = () => users((store) => new Accounts({ users: store, limiter: new RateLimiter({ limit: 100, windowSeconds: 60 }) }).login('alice', 'new alice secret', '127.0.0.1'));
    assert.equal((await login()).ok, true);
    assert.deepEqual(await wharf(['user', 'disable', 'alice']), ['user alice disabled']);
    assert.equal((await login()).ok, false);
    assert.deepEqual((await wharf(['user', 'list']))[0], 'alice\tuser (disabled)\t\t2030-01-01T00:00:00.000Z');
    assert.deepEqual(await wharf(['user', 'enable', 'alice']), ['user alice enabled']);
    assert.equal((await login()).ok, true);
    await assert.rejects(wharf(['user', 'disable', 'ghost']), /does not exist/);
  });

  test('user import takes bcrypt users from an htpasswd file and keeps existing names', async () => {
    const file = join(root, 'htpasswd');
    const line = (name: string, pw: string) => execFileSync('htpasswd', ['-nbB', name, pw]).toString().trim();
    writeFileSync(file, [line('imported', 'imported-pw'), line('alice', 'other'), line('Bad.Name', 'x'), 'md5user:$apr1$abc$def'].join('\n'));
    assert.deepEqual(await wharf(['user', 'import', file]), ['1 users imported', 'skipped md5user (not bcrypt)', 'skipped alice (exists)', 'skipped Bad.Name (invalid name)']);
    const login = await users((store) =>
      new Accounts({ users: store, limiter: new RateLimiter({ limit: 5, windowSeconds: 60 }) }).login('imported', 'imported-pw', '127.0.0.1'),
    );
    assert.equal(login.ok, true, 'the $2y$ hash works as imported');
  });

  test('user passwd, disable and enable refuse a name the htpasswd file holds (its entry wins, the change would do nothing)', async () => {
    const file = join(root, 'htpasswd-shadow');
    writeFileSync(file, execFileSync('htpasswd', ['-nbB', 'alice', 'file-pw']).toString());
    const auth = { mode: 'htpasswd' as const, htpasswd: file };
    const managed = { kind: 'conflict', message: 'alice is managed by the htpasswd file (auth.htpasswd): change it there' };
    const before = await users((s) => s.getUser('alice'));
    await assert.rejects(wharf(['user', 'disable', 'alice'], '', auth), managed);
    await assert.rejects(wharf(['user', 'enable', 'alice'], '', auth), managed);
    await assert.rejects(wharf(['user', 'passwd', 'alice', '--password-stdin'], 'another-secret', auth), managed);
    assert.deepEqual(await users((s) => s.getUser('alice')), before, 'the store row is untouched');
    assert.deepEqual(await wharf(['user', 'disable', 'root'], '', auth), ['user root disabled'], 'names the file does not hold still change');
    await wharf(['user', 'enable', 'root'], '', auth);
  });

  test('token create prints the secret once and stores its hash; list and revoke', async () => {
    const [password] = await wharf(['token', 'create', '--user', 'alice', '--scope', 'repository:alice/*:pull', 'repository:alice/ci:push', '--description', 'ci']);
    assert.match(password, /^wharf_[0-9a-f]{16}_[A-Za-z0-9_-]{32}$/);
    const id = password.split('_')[1];
    const stored = await users((s) => s.getToken(id));
    assert.deepEqual(stored?.scopes, ['repository:alice/*:pull', 'repository:alice/ci:push']);
    // The secret's alphabet includes `_`: it is everything after the ID.
    assert.ok(!JSON.stringify(stored).includes(password.split('_').slice(2).join('_')), 'the secret is not stored');
    const [all] = await wharf(['token', 'create', '--user', 'root']);
    assert.deepEqual((await users((s) => s.getToken(all.split('_')[1])))?.scopes, ['repository:**:pull,push,delete', 'registry:catalog:*']);
    assert.deepEqual(await wharf(['token', 'list', '--user', 'alice']), [`${id}\talice\trepository:alice/*:pull repository:alice/ci:push\tactive\tci`]);
    assert.deepEqual(await wharf(['token', 'revoke', id]), [`token ${id} revoked`]);
    assert.match((await wharf(['token', 'list', '--user', 'alice']))[0], /\trevoked 2030-01-01T00:00:00.000Z\t/);
    await assert.rejects(wharf(['token', 'revoke', id]), /no active token/);
  });

  test('token create refuses unknown users and scopes that do not parse', async () => {
    await assert.rejects(wharf(['token', 'create', '--user', 'ghost']), /does not exist/);
    await assert.rejects(wharf(['token', 'create', '--user', 'alice', '--scope', 'repository:alice/app:fly']), /invalid scope/);
    await assert.rejects(wharf(['token', 'create', '--user', 'alice', '--scope', 'repository:/^.*$/:pull']), /invalid scope/);
  });
});

describe('wharf cert generate', () => {
  let dir: string;
  let lines: string[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-cert-'));
    lines = [];
    const program = new Command('wharf').exitOverride();
    registerAuthCommands(program, () => assert.fail('cert generate needs no database'), undefined, { stdin: Readable.from([]), out: (l) => lines.push(l), now: () => new Date() });
    await program.parseAsync(['node', 'wharf', 'cert', 'generate', '--out', join(dir, 'tls'), '--host', '127.0.0.1', 'localhost', 'registry.test', '--port', '5443']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the server certificate verifies against the CA with openssl and names every host', () => {
    const tls = join(dir, 'tls');
    assert.match(execFileSync('openssl', ['verify', '-CAfile', join(tls, 'ca.crt'), join(tls, 'server.crt')]).toString(), /server\.crt: OK/);
    const text = execFileSync('openssl', ['x509', '-in', join(tls, 'server.crt'), '-noout', '-text']).toString();
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /DNS:localhost/);
    assert.match(text, /DNS:registry\.test/);
    assert.match(text, /TLS Web Server Authentication/);
    for (const key of ['server.key', 'ca.key']) assert.equal(statSync(join(tls, key)).mode & 0o777, 0o600, key);
    assert.equal(statSync(tls).mode & 0o777, 0o700);
  });

  test('it prints the serve flags and the dockerd certs.d instructions', () => {
    const text = lines.join('\n');
    assert.match(text, /--tls-cert .*server\.crt --tls-key .*server\.key/);
    assert.match(text, /\/etc\/docker\/certs\.d\/127\.0\.0\.1:5443\/ca\.crt/);
  });

  test('a TLS client trusting only the CA completes a handshake with a server using the certificate', async () => {
    const tls = join(dir, 'tls');
    const server = createServer({ cert: readFileSync(join(tls, 'server.crt')), key: readFileSync(join(tls, 'server.key')) }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(join(tls, 'ca.crt')), servername: 'registry.test' }, () => {
          resolve(socket.authorized);
          socket.end();
        });
        socket.on('error', reject);
      });
      assert.equal(authorized, true);
      await assert.rejects(
        new Promise<void>((resolve, reject) => connect({ host: '127.0.0.1', port, servername: 'registry.test' }, () => resolve()).on('error', reject)),
        /self-signed|unable to verify|certificate/i,
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('bad hosts are refused before openssl runs', async () => {
    const program = new Command('wharf').exitOverride();
    registerAuthCommands(program, () => assert.fail('no database'), undefined, { stdin: Readable.from([]), out: () => {}, now: () => new Date() });
    await assert.rejects(program.parseAsync(['node', 'wharf', 'cert', 'generate', '--out', join(dir, 'bad'), '--host', 'a b/c']), /invalid host/);
  });
});
