import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { assertAccessible, type BrowserPage, ensureUiBuilt, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { makeGitRepo } from '../support/git-repo.ts';
import { waitFor } from '../support/ports.ts';
import { runOk } from '../support/run.ts';
import { skopeoCopy } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { removeTestNetworking, testNetworkConfig } from '../support/test-network.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

const admin = { user: 'admin', password: 'admin-secret-1' };
const acl = [
  { match: { account: 'ci-*' }, actions: ['pull', 'push'], comment: 'robots build' },
  { match: { name: 'team/*' }, actions: ['pull'], comment: 'everyone reads team' },
];

/** `wharf …` against the test's root, as an administrator would type it beside the running registry. */
function wharf(root: string, args: string[], input?: string): Promise<string> {
  return runOk(wharfBin, [...args, '--root', root], { input, timeoutMs: 60_000 });
}

/** The status of GET /v2/ with Basic credentials: what `docker login` would get. */
async function loginStatus(base: string, user: string, password: string): Promise<number> {
  const response = await fetch(`${base}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } });
  await response.body?.cancel();
  return response.status;
}

/** The row of the table whose header cell is `name`. */
const row = (page: Page, name: string) => page.locator('tr', { has: page.locator(`th:text-is("${name}")`) });

// The administration, activity and build pages in Debian's chromium against a whole wharf (htpasswd accounts in
// its metadata database, an ACL, a quota), driven as an administrator would: every page screenshotted and axe-checked.
describe('the hub UI: administration, activity and builds', { timeout: 600_000, concurrency: false }, () => {
  let tmp: TempDir;
  let root: string;
  let server: TestWharf;
  let browser: TestBrowser;
  let tab: BrowserPage;
  let page: Page;
  let image: RandomLayerImage;

  before(async () => {
    tmp = makeTempDir('wharf-hub-ui-admin-');
    root = join(tmp.path, 'root');
    mkdirSync(root);
    await wharf(root, ['user', 'add', admin.user, '--admin', '--password-stdin'], `${admin.password}\n`);
    await wharf(root, ['quota', 'set', 'team', '10MB']);
    [image, server, browser] = await Promise.all([
      makeRandomLayerImage(join(tmp.path, 'image'), { layerBytes: 64 * 1024, format: 'oci', tag: 'v1' }),
      // The engine part too: "Build now" runs a real build through it.
      startTestWharf({
        root,
        parts: ['registry', 'engine'],
        auth: { mode: 'htpasswd', anonymousPull: false, acl },
        config: { engine: { socket: join(root, 'engine.sock'), network: testNetworkConfig(root) } },
      }),
      launchBrowser(),
      ensureUiBuilt(),
    ]);
    tab = await browser.newPage();
    page = tab.page;
  });

  after(async () => {
    await tab?.close();
    await browser?.close();
    await server?.close();
    if (root) await removeTestNetworking(root);
    tmp?.remove();
  });

  /** Screenshot and accessibility pass of the page as it is now. */
  async function check(name: string): Promise<void> {
    await tab.screenshot(name);
    await assertAccessible(page, name);
  }

  test('an administrator signs in and reaches the administration pages', async () => {
    await page.goto(`${server.url}/ui/sign-in`);
    await page.getByLabel('Username').fill(admin.user);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await row(page, admin.user).waitFor();
  });

  test('adding a user, resetting their password, the administrator flag, then disabling them: their password stops working', async () => {
    await page.getByLabel('Name', { exact: true }).fill('alice');
    await page.getByLabel('Password', { exact: true }).fill('alice-secret-1');
    await page.getByLabel('Email').fill('alice@example.test');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('status').getByText('Added user alice.').waitFor();
    await row(page, 'alice').getByText('Active').waitFor();
    // The API's refusal is shown as it said it, in an alert.
    await page.getByLabel('Name', { exact: true }).fill('alice');
    await page.getByLabel('Password', { exact: true }).fill('another-secret');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('alert').getByText('user alice already exists (CONFLICT)').waitFor();
    // chromium logs every error status to the console: this one was asked for.
    const refused = tab.problems.findIndex((problem) => problem.includes('status of 409'));
    assert.notEqual(refused, -1, tab.problems.join('\n'));
    tab.problems.splice(refused, 1);
    assert.equal(await loginStatus(server.url, 'alice', 'alice-secret-1'), 200);
    await page.getByRole('button', { name: 'Reset the password of alice' }).click();
    const reset = page.getByRole('dialog', { name: 'Reset the password of alice' });
    await reset.getByLabel('New password').fill('alice-secret-2');
    await reset.getByRole('button', { name: 'Set password' }).click();
    await reset.waitFor({ state: 'hidden' });
    assert.equal(await loginStatus(server.url, 'alice', 'alice-secret-1'), 401);
    assert.equal(await loginStatus(server.url, 'alice', 'alice-secret-2'), 200);
    await page.getByRole('button', { name: 'Make alice an administrator' }).click();
    await row(page, 'alice').getByRole('cell', { name: 'Administrator', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Remove the administrator role of alice' }).click();
    await row(page, 'alice').getByRole('cell', { name: 'User', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Disable alice' }).click();
    await row(page, 'alice').getByText('Disabled').waitFor();
    assert.equal(await loginStatus(server.url, 'alice', 'alice-secret-2'), 401);
    await check('admin-users');
  });

  test('a robot token: its secret is shown once, works as a password, and stops working once revoked', async () => {
    await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Robot tokens' }).click();
    await page.getByRole('heading', { level: 1, name: 'Robot tokens' }).waitFor();
    await page.getByLabel('User', { exact: true }).selectOption(admin.user);
    await page.getByLabel('Scopes').fill('repository:team/*:pull');
    await page.getByLabel('Description').fill('CI of team');
    await page.getByRole('button', { name: 'Create token' }).click();
    const dialog = page.getByRole('dialog', { name: 'Token created' });
    await dialog.getByText('shown only this once').waitFor();
    const secret = await dialog.getByLabel('Secret', { exact: true }).inputValue();
    assert.ok(secret.length >= 20, `a secret: ${secret}`);
    await check('admin-token-secret');
    assert.equal(await loginStatus(server.url, admin.user, secret), 200);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is gone from the page once the dialog closes');
    const token = page.locator('tr', { hasText: 'CI of team' });
    await token.getByRole('button', { name: /^Revoke token/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke this token?' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'hidden' });
    assert.equal(await loginStatus(server.url, admin.user, secret), 200, 'cancelling keeps the token');
    // Again by keyboard alone: Enter on "Revoke", the dialog starts on "Cancel", Tab to "Revoke", Enter.
    await token.getByRole('button', { name: /^Revoke token/ }).focus();
    await page.keyboard.press('Enter');
    await confirm.waitFor();
    assert.equal(await page.locator(':focus').textContent(), 'Cancel');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await token.getByText(/^revoked/).waitFor();
    assert.equal(await loginStatus(server.url, admin.user, secret), 401);
    await check('admin-tokens');
  });

  test('the access rules of the config, read-only', async () => {
    await page.getByRole('link', { name: 'Access rules' }).click();
    await page.getByRole('heading', { level: 1, name: 'Access rules' }).waitFor();
    await page.getByText('htpasswd: Basic authentication').waitFor();
    await page.getByText('not allowed').waitFor();
    for (const rule of acl) await page.getByRole('cell', { name: rule.comment }).waitFor();
    assert.equal(await page.locator('tbody tr').count(), acl.length);
    assert.equal(await page.locator('main input, main select, main form').count(), 0, 'nothing to edit');
    await check('admin-acl');
  });

  test('quotas with their usage', async () => {
    await skopeoCopy(image.ref, `docker://${server.host}/team/app:v1`, { destCreds: admin });
    await page.getByRole('link', { name: 'Quotas' }).click();
    await page.getByRole('heading', { level: 1, name: 'Quotas' }).waitFor();
    const team = row(page, 'team');
    await team.getByText('10 MB').waitFor();
    const used = Number(await team.locator('meter').getAttribute('value'));
    assert.ok(used >= 64 * 1024, `the pushed layer counts: ${used}`);
    await check('admin-quotas');
  });

  test('a garbage collection started from the page is listed and followed to its end', async () => {
    await page.getByRole('link', { name: 'Garbage collection' }).click();
    await page.getByRole('heading', { level: 1, name: 'Garbage collection' }).waitFor();
    await page.getByLabel(/^Dry run/).check();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('status').getByText(/^Started run .* \(dry run\)\.$/).waitFor();
    const run = page.locator('tbody tr').first();
    await run.getByText('dry run').waitFor();
    await run.getByText('succeeded').waitFor({ timeout: 60_000 });
    await check('admin-gc');
  });

  test('activity shows the push and the pulls, overall and per repository', async () => {
    const pulled = join(tmp.path, 'pulled');
    await skopeoCopy(`docker://${server.host}/team/app:v1`, `oci:${pulled}:v1`, { srcCreds: admin });
    // The activity log writes in batches, off the request's path: wait for the pull's row.
    await waitFor('the pull in the activity', async () => {
      const response = await fetch(`${server.url}/api/v1/activity?repository=team/app`, { headers: { authorization: `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}` } });
      const body = (await response.json()) as { events: { action: string }[] };
      return body.events.some((event) => event.action === 'pull');
    }, 15_000);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).click();
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    const pushed = page.locator('tbody tr', { hasText: 'pushed' }).first();
    await pushed.getByRole('link', { name: 'team/app' }).waitFor();
    await pushed.getByRole('cell', { name: admin.user }).waitFor();
    const pull = page.locator('tbody tr', { hasText: 'pulled' }).first();
    await pull.getByRole('cell', { name: 'v1', exact: true }).waitFor();
    assert.ok(Number(await pull.locator('td.num').textContent()) >= 1);
    await check('activity');
    await pushed.getByRole('link', { name: 'team/app' }).click();
    await page.getByRole('link', { name: 'Activity' }).last().click();
    await page.getByRole('heading', { level: 2, name: 'Activity' }).waitFor();
    await page.locator('tbody tr', { hasText: 'pulled' }).first().waitFor();
    await check('repository-activity');
  });

  test('"More" pages through the activity, 50 rows at a time', async () => {
    const auth = { authorization: `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}` };
    const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
    const got = await fetch(`${server.url}/v2/team/app/manifests/v1`, { headers: { ...auth, accept } });
    assert.equal(got.status, 200);
    const mediaType = got.headers.get('content-type') ?? '';
    const manifest = Buffer.from(await got.arrayBuffer());
    for (let i = 0; i < 55; i++) {
      const put = await fetch(`${server.url}/v2/team/app/manifests/more-${i}`, { method: 'PUT', headers: { ...auth, 'content-type': mediaType }, body: manifest });
      assert.equal(put.status, 201);
    }
    await waitFor('the tags in the activity', async () => {
      const response = await fetch(`${server.url}/api/v1/activity?repository=team/app&n=1`, { headers: auth });
      return ((await response.json()) as { events: { tag: string | null }[] }).events[0]?.tag === 'more-54';
    }, 15_000);
    await page.goto(`${server.url}/ui/activity`);
    const rows = page.locator('table.activity tbody tr');
    await rows.first().getByRole('cell', { name: 'more-54', exact: true }).waitFor();
    assert.equal(await rows.count(), 50);
    await page.getByRole('button', { name: 'More' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('cell', { name: 'more-0', exact: true }).waitFor();
    assert.ok((await rows.count()) >= 57, 'the first push and pull are on the second page too');
    assert.equal(await page.getByRole('button', { name: 'More' }).count(), 0, 'that was the last page');
    assert.equal(await rows.nth(50).evaluate((row) => row === row.ownerDocument.activeElement), true, 'the focus is on the first row added');
  });

  test('"Build now" runs a build from git through the engine; its page follows the log and shows the image', async () => {
    const source = await makeGitRepo(join(tmp.path, 'app-source'));
    const commit = await source.commit({ Dockerfile: 'FROM scratch\nCOPY hello.txt /hello.txt\n', 'hello.txt': 'hello from the hub\n' });
    await wharf(root, ['autobuild', 'add', 'team/app', '--git', `file://${source.dir}`, '--tag', 'built']);
    await page.goto(`${server.url}/ui/r/team/app?tab=builds`);
    await page.getByRole('heading', { level: 2, name: 'Automated builds' }).waitFor();
    const reads: number[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.endsWith('/log')) reads.push(Number(url.searchParams.get('offset')));
    });
    await page.getByRole('button', { name: /^Build now/ }).click();
    await page.getByRole('heading', { level: 1, name: /^Build / }).waitFor();
    const facts = page.locator('dl.facts');
    await facts.getByText('succeeded', { exact: true }).waitFor({ timeout: 300_000 });
    await page.getByText('The build has finished; this is its whole log.').waitFor();
    const log = (await page.getByRole('log').textContent()) ?? '';
    const id = new URL(page.url()).pathname.split('/').at(-1);
    const whole = await fetch(`${server.url}/api/v1/builds/${id}/log`, { headers: { authorization: `Basic ${Buffer.from(`${admin.user}:${admin.password}`).toString('base64')}` } });
    assert.equal(log, await whole.text(), 'the pieces read while it ran add up to the whole log');
    assert.deepEqual(reads, [...reads].sort((a, b) => a - b), `each read starts where the last ended: ${reads}`);
    assert.match(log, /Step 1\/2 : FROM scratch/);
    assert.match(log, /Step 2\/2 : COPY hello.txt \/hello.txt/);
    await facts.getByText(commit).waitFor();
    await facts.getByText('team/app:built', { exact: true }).waitFor();
    await facts.getByText(`team/app:${commit.slice(0, 12)}`, { exact: true }).waitFor();
    const digest = (await facts.getByRole('link', { name: /^sha256:/ }).textContent()) ?? '';
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    await check('build-succeeded');
    await page.getByRole('link', { name: 'team/app', exact: true }).click();
    const newest = page.locator('table.builds tbody tr').first();
    await newest.getByText('succeeded').waitFor();
    await newest.getByText(digest.slice(0, 19)).waitFor();
    await check('repository-builds');
  });

  test('a build whose source cannot be fetched fails, and its page says why', async () => {
    // A source that does not exist: a real run of the builder that fails, and whose log says why.
    const missing = `file://${join(tmp.path, 'no-such-repository.git')}`;
    await wharf(root, ['autobuild', 'add', 'team/built', '--git', missing]);
    // Registered but never pushed: the repository's page lists no tags (no 404, no console error).
    await page.goto(`${server.url}/ui/r/team/built`);
    await page.getByText('No tags yet.').waitFor();
    await skopeoCopy(image.ref, `docker://${server.host}/team/built:v1`, { destCreds: admin });
    await page.goto(`${server.url}/ui/r/team/built?tab=builds`);
    await page.getByRole('heading', { level: 2, name: 'Automated builds' }).waitFor();
    await page.getByText(missing).waitFor();
    await page.getByRole('button', { name: /^Build now/ }).click();
    await page.getByRole('heading', { level: 1, name: /^Build / }).waitFor();
    const facts = page.locator('dl.facts');
    await facts.getByText('failed', { exact: true }).waitFor({ timeout: 120_000 });
    await page.getByText('The build has finished; this is its whole log.').waitFor();
    const log = (await page.getByRole('log').textContent()) ?? '';
    assert.match(log, /no-such-repository/, `the log names the source it could not fetch:\n${log}`);
    await check('build-failed');
    await page.getByRole('link', { name: 'team/built' }).click();
    await page.locator('tbody tr').first().getByText('failed').waitFor();
  });

  test('the pages fit a 360 px wide screen', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    for (const path of ['/ui/admin/users', '/ui/admin/tokens', '/ui/admin/quotas', '/ui/activity']) {
      await page.goto(`${server.url}${path}`);
      await page.locator('h1').waitFor();
      await page.locator('main table').first().waitFor();
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow} px at 360 px`);
    }
    await tab.screenshot('admin-users-360');
  });

  test('the dark scheme keeps every page readable', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const [path, name] of [
      ['/ui/admin/users', 'admin-users-dark'],
      ['/ui/admin/tokens', 'admin-tokens-dark'],
      ['/ui/admin/gc', 'admin-gc-dark'],
      ['/ui/activity', 'activity-dark'],
    ]) {
      await page.goto(`${server.url}${path}`);
      await page.locator('main table').first().waitFor();
      await check(name);
    }
    await page.goto(`${server.url}/ui/r/team/app?tab=builds`);
    await page.locator('table.builds tbody tr').first().getByRole('link').click();
    await page.getByText('The build has finished; this is its whole log.').waitFor();
    await check('build-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('a user who is not an administrator sees no administration, and the pages ask nothing of the API', async () => {
    await wharf(root, ['user', 'add', 'bob', '--password-stdin'], 'bob-secret-1\n');
    const other = await browser.newPage();
    try {
      await other.page.goto(`${server.url}/ui/sign-in`);
      await other.page.getByLabel('Username').fill('bob');
      await other.page.getByLabel('Password').fill('bob-secret-1');
      await other.page.getByRole('button', { name: 'Sign in' }).click();
      await other.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Activity' }).waitFor();
      assert.equal(await other.page.getByRole('link', { name: 'Administration' }).count(), 0);
      const asked: string[] = [];
      other.page.on('request', (request) => {
        if (request.url().includes('/api/v1/') && !request.url().endsWith('/api/v1/session')) asked.push(request.url());
      });
      await other.page.goto(`${server.url}/ui/admin/tokens`);
      await other.page.getByText('Only administrators may see this page.').waitFor();
      assert.deepEqual(asked, []);
      assert.deepEqual(other.problems, []);
    } finally {
      await other.close();
    }
  });

  test('no console errors, failed requests or page errors on the way', () => {
    assert.deepEqual(tab.problems, []);
  });
});
