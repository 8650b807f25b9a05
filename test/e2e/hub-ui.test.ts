import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/base/config.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { openMeta } from '../../src/main/open-meta.ts';
import { putManifest, uploadBlob } from '../../src/client/registry-push.ts';
import { assertAccessible, type BrowserPage, ensureUiBuilt, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/ports.ts';
import { runOk } from '../support/run.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const ociIndex = 'application/vnd.oci.image.index.v1+json';
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** Pushes images through src/client with a user's password, as `docker push` would. */
function pusher(base: string, user: string, password: string) {
  const session = (repository: string) => new RegistryClient().sessionAt({ base: new URL(base), insecureTls: false }, repository, { username: user, password }, ['pull', 'push']);
  const blob = async (repository: string, bytes: Buffer, mediaType: string): Promise<Descriptor> => {
    await uploadBlob(session(repository), repository, { digest: sha256(bytes), size: bytes.length, open: async () => Readable.from([bytes]) });
    return { mediaType, digest: sha256(bytes), size: bytes.length };
  };
  const manifest = async (repository: string, reference: string | null, body: object): Promise<Descriptor> => {
    const bytes = Buffer.from(JSON.stringify(body));
    const mediaType = (body as { mediaType: string }).mediaType;
    await putManifest(session(repository), repository, reference ?? sha256(bytes), { bytes, mediaType, digest: sha256(bytes) });
    return { mediaType, digest: sha256(bytes), size: bytes.length };
  };
  /** An image with a config worth showing (env, cmd, entrypoint, labels, ports, history) and one random layer. */
  const image = async (repository: string, tag: string | null, architecture: string): Promise<Descriptor> => {
    const layerBytes = randomBytes(3000);
    const layer = await blob(repository, layerBytes, 'application/vnd.oci.image.layer.v1.tar');
    const config = await blob(
      repository,
      Buffer.from(
        JSON.stringify({
          architecture,
          os: 'linux',
          created: '2026-11-30T12:00:00Z',
          config: {
            Env: ['PATH=/usr/local/bin:/usr/bin', 'APP_MODE=production'],
            Entrypoint: ['/bin/app'],
            Cmd: ['serve', '--port', '8080'],
            Labels: { 'org.opencontainers.image.source': 'https://git.example/app' },
            ExposedPorts: { '8080/tcp': {} },
            WorkingDir: '/srv',
          },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
          history: [
            { created: '2026-11-30T12:00:00Z', created_by: '/bin/sh -c make install-app' },
            { created: '2026-11-30T12:00:01Z', created_by: '/bin/sh -c #(nop)  CMD ["serve"]', empty_layer: true },
          ],
        }),
      ),
      'application/vnd.oci.image.config.v1+json',
    );
    const body = { schemaVersion: 2, mediaType: ociManifest, config, layers: [layer] };
    return manifest(repository, tag ?? sha256(Buffer.from(JSON.stringify(body))), body);
  };
  return { blob, manifest, image };
}

describe('the hub UI in chromium', () => {
  let root: string;
  let wharf: TestWharf;
  let browser: TestBrowser;
  let v1: Descriptor;

  before(async () => {
    await ensureUiBuilt();
    root = mkdtempSync(join(tmpdir(), 'wharf-hub-ui-'));
    // More names than a page holds (50), straight into the root's metadata before the server opens it.
    const stores = await openMeta(loadConfig({ overrides: { root } }));
    for (let i = 0; i < 55; i++) await stores.meta.ensureRepository(`many/repo-${String(i).padStart(2, '0')}`);
    await stores.close();
    await runOk(wharfBin, ['user', 'add', 'alice', '--password-stdin', '--root', root], { input: 'alice-secret\n' });
    await runOk(wharfBin, ['user', 'add', 'root', '--admin', '--password-stdin', '--root', root], { input: 'root-secret\n' });
    wharf = await startTestWharf({ root, config: { auth: { mode: 'htpasswd' } } });
    const alice = pusher(wharf.url, 'alice', 'alice-secret');
    v1 = await alice.image('alice/app', 'v1', 'amd64');
    await alice.image('alice/app', 'v2', 'amd64');
    await alice.image('alice/app', 'old', 'amd64');
    const arm = await alice.image('alice/app', null, 'arm64');
    await alice.manifest('alice/app', 'latest', { schemaVersion: 2, mediaType: ociIndex, manifests: [{ ...v1, platform: { os: 'linux', architecture: 'amd64' } }, { ...arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }] });
    const empty = await alice.blob('alice/app', Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    const sbom = await alice.blob('alice/app', Buffer.from('{"spdxVersion":"SPDX-2.3"}'), 'application/spdx+json');
    await alice.manifest('alice/app', null, { schemaVersion: 2, mediaType: ociManifest, artifactType: 'application/spdx+json', config: empty, layers: [sbom], subject: v1 });
    const admin = pusher(wharf.url, 'root', 'root-secret');
    for (const name of ['team/web', 'team/api', 'library/busybox']) await admin.image(name, 'stable', 'amd64');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await wharf?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function signIn(tab: BrowserPage, user = 'alice', password = 'alice-secret'): Promise<void> {
    const { page } = tab;
    await page.goto(`${wharf.url}/`);
    await page.waitForURL(/\/ui\/sign-in/);
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('list', { name: 'Repositories' }).waitFor();
  }

  test('sign in, search as you type, tags, copy, delete with confirmation, manifest, sign out', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    try {
      await page.goto(`${wharf.url}/`);
      await page.waitForURL(/\/ui\/sign-in/);
      await assertAccessible(page, 'sign in');
      await tab.screenshot('sign-in');
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('alice-secret');
      await page.getByRole('button', { name: 'Sign in' }).click();

      const list = page.getByRole('list', { name: 'Repositories' });
      await list.getByRole('link', { name: 'alice/app' }).waitFor();
      assert.equal(await list.getByRole('link').count(), 50, 'a page of 50');
      await page.getByRole('button', { name: 'More' }).click();
      await list.getByRole('link', { name: 'team/web' }).waitFor();
      const all = await list.getByRole('link').allTextContents();
      assert.deepEqual([all.length, ...all.slice(0, 3), ...all.slice(-3)], [59, 'alice/app', 'library/busybox', 'many/repo-00', 'many/repo-54', 'team/api', 'team/web']);
      assert.equal(await page.getByRole('button', { name: 'More' }).count(), 0, 'no More after the last page');
      await assertAccessible(page, 'repositories');
      await tab.screenshot('repositories');

      // Each keystroke is a request at most once the typing pauses; the server filters.
      const searches: string[] = [];
      page.on('request', (request) => request.url().includes('/api/v1/repositories') && searches.push(new URL(request.url()).searchParams.get('q') ?? ''));
      await page.getByLabel('Search repositories').pressSequentially('team', { delay: 20 });
      await waitFor('two results', async () => (await list.getByRole('listitem').count()) === 2, 10_000);
      assert.deepEqual(await list.getByRole('link').allTextContents(), ['team/api', 'team/web']);
      assert.equal(searches.at(-1), 'team');
      assert.ok(searches.length < 4, `debounced: ${searches.join(',')}`);
      assert.match(page.url(), /\/ui\/\?q=team$/);
      await page.getByLabel('Search repositories').fill('no-such-thing');
      await page.getByText('No repository matches “no-such-thing”.').waitFor();
      await page.getByLabel('Search repositories').fill('app');
      await list.getByRole('link', { name: 'alice/app' }).click();

      await page.waitForURL(/\/ui\/r\/alice\/app$/);
      const tags = page.getByRole('table');
      await tags.getByRole('rowheader', { name: 'v1' }).waitFor();
      const rowOf = (tag: string) => tags.getByRole('row').filter({ has: page.getByRole('rowheader', { name: tag, exact: true }) });
      assert.match(await rowOf('v1').innerText(), /sha256:[0-9a-f]{12}\s+\d+(\.\d+)? KB\s+2026-11-30 12:00 UTC\s+linux\/amd64/);
      assert.match(await rowOf('latest').innerText(), /linux\/amd64, linux\/arm64\/v8/);
      await assertAccessible(page, 'repository');
      await tab.screenshot('repository');

      await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: wharf.url });
      await page.getByRole('button', { name: 'Copy docker pull command for v2' }).click();
      await page.getByRole('button', { name: 'Copy docker pull command for v2' }).getByText('Copied').waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), `docker pull ${wharf.host}/alice/app:v2`);

      await page.getByRole('button', { name: 'Delete tag old' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete the tag old?' });
      await dialog.waitFor();
      await assertAccessible(page, 'delete confirmation');
      await tab.screenshot('delete-confirmation');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await rowOf('old').count(), 1, 'cancelling keeps the tag');
      assert.equal((await fetch(`${wharf.url}/v2/alice/app/manifests/old`, { method: 'HEAD', headers: basic('alice', 'alice-secret') })).status, 200);

      await page.getByRole('button', { name: 'Delete tag old' }).click();
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await page.getByText('Deleted the tag old.').first().waitFor();
      await rowOf('old').waitFor({ state: 'detached' });
      assert.equal((await fetch(`${wharf.url}/v2/alice/app/manifests/old`, { method: 'HEAD', headers: basic('alice', 'alice-secret') })).status, 404);

      await tags.getByRole('link', { name: 'v1', exact: true }).click();
      await page.waitForURL(/\/ui\/r\/alice\/app\/-\/manifest\/v1$/);
      await page.getByRole('heading', { name: 'Layers' }).waitFor();
      const facts = await page.locator('main').innerText();
      for (const expected of ['/bin/app', "serve --port 8080", 'APP_MODE=production', '8080/tcp', 'org.opencontainers.image.source', 'https://git.example/app', 'RUN make install-app', 'CMD ["serve"]', 'application/spdx+json', '/srv', '3 KB']) {
        assert.ok(facts.includes(expected), `the manifest page shows ${expected}`);
      }
      await assertAccessible(page, 'manifest');
      await tab.screenshot('manifest');

      await page.goBack();
      await tags.getByRole('link', { name: 'latest', exact: true }).click();
      const platforms = page.getByRole('region', { name: 'Platforms' });
      await platforms.getByRole('link', { name: 'linux/arm64/v8' }).click();
      await page.waitForURL(/\/-\/manifest\/sha256%3A[0-9a-f]{64}$/);
      await page.getByRole('heading', { name: 'Config' }).waitFor();
      assert.match(await page.locator('main').innerText(), /linux\/arm64/);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/ui\/sign-in/);
      await page.goto(`${wharf.url}/ui/r/alice/app`);
      await page.waitForURL(/\/ui\/sign-in\?next=%2Fui%2Fr%2Falice%2Fapp/);
      assert.deepEqual(tab.problems, []);
    } finally {
      await tab.close();
    }
  });

  test('no Delete without the delete action', async () => {
    const tab = await browser.newPage();
    try {
      await signIn(tab);
      await tab.page.goto(`${wharf.url}/ui/r/team/web`);
      await tab.page.getByRole('rowheader', { name: 'stable' }).waitFor();
      assert.equal(await tab.page.getByRole('button', { name: /^Delete/ }).count(), 0);
      assert.equal(await tab.page.getByRole('button', { name: 'Copy docker pull command for stable' }).count(), 1);
      assert.deepEqual(tab.problems, []);
    } finally {
      await tab.close();
    }
  });

  test('360 px wide and the dark scheme', async () => {
    const tab = await browser.newPage({ viewport: { width: 360, height: 740 }, colorScheme: 'dark' });
    const { page } = tab;
    try {
      await signIn(tab);
      const width = () => page.evaluate('document.documentElement.scrollWidth');
      assert.equal(await width(), 360, 'the repositories page fits 360 px without sideways scrolling');
      await assertAccessible(page, 'repositories, dark, 360 px');
      await tab.screenshot('repositories-360-dark');
      await page.goto(`${wharf.url}/ui/r/alice/app`);
      await page.getByRole('rowheader', { name: 'v1' }).waitFor();
      assert.equal(await width(), 360, 'the tags table scrolls inside its region, not the page');
      await assertAccessible(page, 'repository, dark, 360 px');
      await tab.screenshot('repository-360-dark');
      await page.emulateMedia({ colorScheme: 'light' });
      await tab.screenshot('repository-360');
      await page.goto(`${wharf.url}/ui/r/alice/app/-/manifest/v1`);
      await page.getByRole('heading', { name: 'History' }).waitFor();
      assert.equal(await width(), 360);
      await page.emulateMedia({ colorScheme: 'dark' });
      await assertAccessible(page, 'manifest, dark, 360 px');
      await tab.screenshot('manifest-360-dark');
      assert.deepEqual(tab.problems, []);
    } finally {
      await tab.close();
    }
  });

  test('keyboard only: sign in, search and open a repository, focus visible', async () => {
    const tab = await browser.newPage();
    const { page } = tab;
    try {
      await page.goto(`${wharf.url}/ui/sign-in`);
      await page.getByLabel('Username').waitFor();
      const focused = (): Promise<{ text: string; label: string; outline: string }> =>
        page.evaluate(`(() => {
          const el = document.activeElement;
          return { text: el.getAttribute('aria-label') ?? el.id ?? '', label: el.textContent.trim(), outline: getComputedStyle(el).outlineStyle };
        })()`);
      // Tab from the top: the skip link first, then on to the form.
      await page.keyboard.press('Tab');
      assert.equal((await focused()).label, 'Skip to content');
      assert.equal((await focused()).outline, 'solid', 'focus is visible');
      for (let i = 0; i < 10 && (await focused()).text !== 'username'; i++) await page.keyboard.press('Tab');
      assert.equal((await focused()).text, 'username');
      await page.keyboard.type('alice');
      await page.keyboard.press('Tab');
      await page.keyboard.type('alice-secret');
      await page.keyboard.press('Enter');
      await page.getByRole('list', { name: 'Repositories' }).waitFor();
      for (let i = 0; i < 12 && (await focused()).text !== 'search'; i++) await page.keyboard.press('Tab');
      assert.equal((await focused()).text, 'search');
      await page.keyboard.type('busy');
      await waitFor('one result', async () => (await page.getByRole('list', { name: 'Repositories' }).getByRole('listitem').count()) === 1, 10_000);
      await page.keyboard.press('Tab');
      assert.equal((await focused()).label, 'library/busybox');
      assert.equal((await focused()).outline, 'solid');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/ui\/r\/library\/busybox$/);
      await page.getByRole('rowheader', { name: 'stable' }).waitFor();
      assert.equal(await page.evaluate('document.activeElement.tagName'), 'H1', 'focus moves to the new page');
      assert.deepEqual(tab.problems, []);
    } finally {
      await tab.close();
    }
  });

  test('anonymous browsing where auth.anonymousPull allows it', async () => {
    const open = await startTestWharf({ config: { auth: { mode: 'htpasswd', anonymousPull: true } } });
    const tab = await browser.newPage();
    const { page } = tab;
    try {
      // A repository without tags, beside the running server (SQLite in WAL mode takes a second connection).
      const stores = await openMeta(loadConfig({ overrides: { root: open.root } }));
      await stores.meta.ensureRepository('public/tools');
      await stores.close();
      await page.goto(`${open.url}/`);
      const list = page.getByRole('list', { name: 'Repositories' });
      await list.getByRole('link', { name: 'public/tools' }).waitFor();
      assert.match(page.url(), /\/ui\/$/, 'no detour through the sign-in page');
      assert.equal(await page.getByRole('link', { name: 'Sign in' }).count(), 1);
      assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
      await list.getByRole('link', { name: 'public/tools' }).click();
      await page.getByText('No tags yet.').waitFor();
      await page.getByRole('link', { name: 'Sign in' }).click();
      await page.waitForURL(/\/ui\/sign-in\?next=%2Fui%2Fr%2Fpublic%2Ftools$/);
      await page.getByLabel('Username').fill('nobody');
      await page.getByLabel('Password').fill('wrong');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      assert.match(await page.getByRole('alert').innerText(), /Could not sign in/);
      assert.deepEqual(
        tab.problems.filter((problem) => !problem.includes('status of 401')),
        [],
        'nothing but the refused sign-in, which the browser itself reports',
      );
    } finally {
      await tab.close();
      await open.close();
    }
  });

  test('assets are immutable and gzipped, pages carry the CSP', async () => {
    const index = await fetch(`${wharf.url}/ui/r/alice/app`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await index.text();
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const asset = await fetch(`${wharf.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('content-encoding'), 'gzip');
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok((await asset.text()).length > 1000);
    assert.equal((await fetch(`${wharf.url}/ui/assets/..%2f..%2fpackage.json`)).status, 404);
  });
});

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
