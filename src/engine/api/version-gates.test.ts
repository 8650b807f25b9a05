import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { containerInspectForVersion, imageInspectForVersion, imageListFilters, imageSummaryForVersion, infoForVersion, networkListHasContainers } from './version-gates.ts';

type Json = Record<string, unknown>;

const info = (): Json => ({ KernelVersion: '', OperatingSystem: '', SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'] });
const untagged = (): Json => ({ Id: 'sha256:1', RepoTags: [], RepoDigests: [], Size: 7 });
const tagged = (): Json => ({ Id: 'sha256:2', RepoTags: ['busybox:latest'], RepoDigests: [], Size: 7 });
const imageInspect = (): Json => ({ Id: 'sha256:1', Size: 7, GraphDriver: {} });
const inspect = (): Json => ({
  Id: 'abcdef0123456789',
  Config: { Hostname: 'web' },
  NetworkSettings: { Networks: { bridge: { Aliases: null }, mynet: { Aliases: ['db'] } } },
});

/** Each row: a version, and what the gated answer must show there (moby v25's routers). */
const rows: { version: string; check: string; expect: unknown; of: () => unknown }[] = [];
for (const [version, sizeShown, noneShown] of [['1.24', true, true], ['1.25', true, true], ['1.41', true, true], ['1.42', true, true], ['1.43', true, false], ['1.44', false, false]] as const) {
  rows.push({ version, check: 'images/json VirtualSize', expect: sizeShown, of: () => 'VirtualSize' in imageSummaryForVersion(untagged(), version) });
  rows.push({ version, check: 'images/{id}/json VirtualSize', expect: sizeShown, of: () => 'VirtualSize' in imageInspectForVersion(imageInspect(), version) });
  rows.push({
    version,
    check: 'images/json untagged RepoTags',
    expect: noneShown ? ['<none>:<none>'] : [],
    of: () => imageSummaryForVersion(untagged(), version).RepoTags,
  });
  rows.push({ version, check: 'images/json tagged RepoTags', expect: ['busybox:latest'], of: () => imageSummaryForVersion(tagged(), version).RepoTags });
}
for (const [version, names, unknown] of [['1.24', true, true], ['1.25', false, true], ['1.38', false, true], ['1.39', false, false], ['1.44', false, false]] as const) {
  rows.push({ version, check: 'info ExecutionDriver', expect: names, of: () => 'ExecutionDriver' in infoForVersion(info(), version) });
  rows.push({
    version,
    check: 'info SecurityOptions',
    expect: names ? ['seccomp', 'cgroupns'] : ['name=seccomp,profile=builtin', 'name=cgroupns'],
    of: () => infoForVersion(info(), version).SecurityOptions,
  });
  rows.push({ version, check: 'info KernelVersion', expect: unknown ? '<unknown>' : '', of: () => infoForVersion(info(), version).KernelVersion });
}
for (const version of ['1.24', '1.41', '1.44']) {
  const networks = () => (containerInspectForVersion(inspect(), version).NetworkSettings as Json).Networks as Record<string, Json>;
  rows.push({ version, check: 'inspect user network Aliases', expect: ['db', 'abcdef012345', 'web'], of: () => networks().mynet.Aliases });
  rows.push({ version, check: 'inspect bridge Aliases', expect: null, of: () => networks().bridge.Aliases });
}
for (const [version, kmem, detailed, filterApplies] of [['1.24', true, true, true], ['1.27', true, true, true], ['1.28', true, false, true], ['1.40', true, false, true], ['1.41', true, false, false], ['1.42', false, false, false], ['1.44', false, false, false]] as const) {
  const withSwap = () => ({ SwapLimit: true, CpuCfsPeriod: true });
  rows.push({ version, check: 'info KernelMemory on a kmem host', expect: kmem ? true : undefined, of: () => infoForVersion(withSwap(), version, { kernelMemory: true }).KernelMemory });
  rows.push({ version, check: 'info KernelMemory without kmem', expect: undefined, of: () => infoForVersion(withSwap(), version, { kernelMemory: false }).KernelMemory });
  rows.push({ version, check: 'networks list Containers', expect: detailed, of: () => networkListHasContainers(version) });
  rows.push({
    version,
    check: 'images/json filter=',
    expect: filterApplies ? [['reference', ['busy*']]] : [],
    of: () => [...imageListFilters(new Map(), 'busy*', version)],
  });
}

describe('version gates: what each API version shows', () => {
  test('KernelMemory sits right after SwapLimit, as in moby\'s Info struct', () => {
    assert.deepEqual(Object.keys(infoForVersion({ SwapLimit: true, CpuCfsPeriod: true }, '1.41', { kernelMemory: true })), ['SwapLimit', 'KernelMemory', 'CpuCfsPeriod']);
  });

  test('a filter= reference joins the filters= ones', () => {
    assert.deepEqual(imageListFilters(new Map([['reference', ['a']]]), 'b', '1.40').get('reference'), ['a', 'b']);
  });

  for (const row of rows) {
    test(`${row.version}: ${row.check}`, () => assert.deepEqual(row.of(), row.expect));
  }

  test('VirtualSize equals Size and sits right after it in image inspect', () => {
    const out = imageInspectForVersion(imageInspect(), '1.41');
    assert.deepEqual(Object.keys(out), ['Id', 'Size', 'VirtualSize', 'GraphDriver']);
    assert.equal(out.VirtualSize, 7);
  });

  test('gates do not change the answer they are given', () => {
    const body = untagged();
    imageSummaryForVersion(body, '1.24');
    assert.deepEqual(body, untagged());
    const c = inspect();
    containerInspectForVersion(c, '1.41');
    assert.deepEqual(c, inspect());
  });

  test('an aliased hostname equal to the short ID is listed once', () => {
    const c = { ...inspect(), Config: { Hostname: 'abcdef012345' } };
    const nets = (containerInspectForVersion(c, '1.44').NetworkSettings as Json).Networks as Record<string, Json>;
    assert.deepEqual(nets.mynet.Aliases, ['db', 'abcdef012345']);
  });
});
