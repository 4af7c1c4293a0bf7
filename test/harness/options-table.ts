import { DEFAULT_OPTIONS, OPTION_SPECS } from '../../src/options.js';

const MIB = 1024 * 1024;

function defaultText(value: unknown): string {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '—';
  if (Array.isArray(value)) return value.map((item) => `\`${String(item)}\``).join(', ');
  if (typeof value === 'number' && value >= MIB && value % MIB === 0) return `\`${value}\` (${value / MIB} MiB)`;
  return `\`${typeof value === 'string' ? `'${value}'` : String(value)}\``;
}

/** The `startServer` options table of docs/options.md, from OPTION_SPECS and DEFAULT_OPTIONS. */
export function optionsTable(): string {
  const rows = OPTION_SPECS.map((spec) => {
    const flag = spec.kind === 'boolean' ? `\`${spec.flag}\` / \`--no-${spec.flag.slice(2)}\`` : `\`${spec.flag}\``;
    return `| \`${spec.key}\` | ${flag} | \`${spec.env}\` | ${defaultText(DEFAULT_OPTIONS[spec.key])} | ${spec.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| option | flag | environment | default | what it does |', '|---|---|---|---|---|', ...rows].join('\n');
}

export const TABLE_START = '<!-- options-table:start (generated from OPTION_SPECS by test/harness/docs.test.ts; UPDATE_DOCS=1 rewrites it) -->';
export const TABLE_END = '<!-- options-table:end -->';
