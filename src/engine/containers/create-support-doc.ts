import { createSupport, type FieldSupport, type SupportStatus } from './create-support.ts';

const statusText: Record<SupportStatus, string> = {
  honoured: 'honoured',
  refused: 'refused',
  'moby-ignores': 'ignored (as moby)',
  'value-checked': 'some values',
};

const cell = (text: string) => text.replaceAll('|', '\\|');

function row(path: string, support: FieldSupport): string {
  const flag = support.flag ? `\`${cell(support.flag)}\`` : '';
  return `| \`${path}\` | ${flag} | ${statusText[support.status]} | ${cell(support.note ?? '')} |`;
}

/** docs/engine-create-options.md, from the table checkCreateSupport uses (scripts/engine-create-options-doc.ts writes it). */
export function createSupportMarkdown(): string {
  const rows = Object.entries(createSupport).map(([path, support]) => row(path, support));
  return [
    '# Container create options',
    '',
    'Generated from `src/engine/containers/create-support.ts` by `node_modules/.bin/node scripts/engine-create-options-doc.ts`;',
    'a test keeps this file equal to the table. Every field of a create body in API 1.44 (`container.Config`,',
    '`container.HostConfig` with its `Resources`, `network.NetworkingConfig` and each network\'s `EndpointSettings`) is',
    'one of:',
    '',
    '- **honoured**: the engine applies it;',
    '- **refused**: a non-zero value is a 400 naming the field (`StorageOpt (--storage-opt) is not supported by this engine`),',
    '  or moby\'s own refusal where moby refuses it on Linux;',
    '- **some values**: honoured for the values in the notes; any other value is a 400 naming the field and the value;',
    '- **ignored (as moby)**: moby ignores it on Linux too (client-side, Windows-only, build-only or set by the daemon).',
    '',
    'Values are also checked as moby checks them (`--oom-score-adj` range, namespaced `--sysctl`s, `--ulimit` names,',
    '`--device` nodes, `--device-cgroup-rule` format).',
    '',
    '| Field | docker CLI | Status | Notes |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
