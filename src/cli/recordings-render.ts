import { dirname, join } from 'node:path';
import { isIdentical, textChange, type Change, type RecordingDiff } from '../inspect/diff.js';
import { describeMatch, missMessage, routeValue, type Explanation } from '../inspect/explain.js';
import type { ImportReport } from '../inspect/import.js';
import type { RecordingStats } from '../inspect/stats.js';
import type { RecordingSummary } from '../inspect/summary.js';
import { truncate } from '../inspect/truncate.js';
import { verifyPassed, type VerifyReport } from '../inspect/verify.js';
import { formatBytes, inlineJson, pad, plural, table, wrap, type Colors } from './recordings-format.js';

export interface RenderContext {
  colors: Colors;
  width: number;
}

/** `recordings list`: one aligned row per recording and a total. */
export function renderList(dir: string, rows: readonly RecordingSummary[], total: number, { colors: c, width }: RenderContext): string {
  if (rows.length === 0) {
    return total === 0 ? `No recordings in ${dir}.\n` : `No recording in ${dir} matches the filters (${plural(total, 'recording')} in all).\n`;
  }
  const body = table(
    [
      { header: 'ID' },
      { header: 'REQUEST', max: 40 },
      { header: 'MODEL', max: 26 },
      { header: 'STREAM' },
      { header: 'STATUS' },
      { header: 'SIZE', align: 'right' },
      { header: 'LAST MESSAGE', flex: true },
    ],
    rows.map((row) => [
      row.nameMatches ? row.id : `${row.id}!`,
      `${row.method} ${row.path}`,
      row.model === '' ? '-' : row.model,
      row.streaming ? plural(row.chunks, 'chunk') : '-',
      String(row.status),
      formatBytes(row.size),
      row.preview,
    ]),
    width,
    c,
    // Plain output needs no second look at each line.
    c.isColorSupported ? (line, index) => colorRow(line, rows[index]!, c) : undefined,
  );
  const size = rows.reduce((sum, row) => sum + row.size, 0);
  const shown = rows.length === total ? plural(total, 'recording') : `${rows.length} of ${plural(total, 'recording')}`;
  const misnamed = rows.some((row) => !row.nameMatches) ? ` · ! file name does not match its request (see recordings verify)` : '';
  return `${body}${c.dim(`${shown}, ${formatBytes(size)} in ${dir}${misnamed}`)}\n`;
}

/** Colours the id column and error statuses of a laid-out row line. */
function colorRow(line: string, row: RecordingSummary, c: Colors): string {
  const id = line.slice(0, row.id.length);
  const rest = line.slice(row.id.length);
  return c.bold(id) + (row.status >= 400 ? rest.replace(` ${row.status} `, ` ${c.red(String(row.status))} `) : rest);
}

/** `recordings diff`: route, request and answer changes as JSON paths with old → new. */
export function renderDiff(
  a: { id: string; file: string; label: string },
  b: { id: string; file: string; label: string },
  diff: RecordingDiff,
  { colors: c, width }: RenderContext,
): string {
  const out = [`${c.red('a')}  ${c.bold(a.id)}  ${a.label}  ${c.dim(a.file)}`, `${c.green('b')}  ${c.bold(b.id)}  ${b.label}  ${c.dim(b.file)}`];
  const sections: Array<[string, Change[]]> = [
    ['route', diff.route],
    ['request body', diff.request],
    ['answer', diff.answer],
  ];
  if (isIdentical(diff)) {
    out.push('', 'No differences: same request, same answer.');
    return `${out.join('\n')}\n`;
  }
  for (const [title, changes] of sections) {
    out.push('');
    if (changes.length === 0) {
      out.push(`${c.bold(title)}  ${c.dim('same')}`);
      continue;
    }
    out.push(`${c.bold(title)}  ${c.dim(`(${plural(changes.length, 'difference')})`)}`);
    const pathWidth = Math.min(40, Math.max(...changes.map((change) => change.path.length)));
    for (const change of changes) out.push(...renderChange(change, pathWidth, c, width));
  }
  return `${out.join('\n')}\n`;
}

function renderChange(change: Change, pathWidth: number, c: Colors, width: number): string[] {
  const { old: before, new: after } = change;
  const label = `  ${pad(change.path, pathWidth)}  `;
  if (typeof before === 'string' && typeof after === 'string' && (before.length + after.length > 80 || /\n/.test(before + after))) {
    // Long texts: a word diff with a little context on each side.
    const parts = textChange(before, after);
    const context = 60;
    const head = parts.before.length > context ? `…${parts.before.slice(-context)}` : parts.before;
    const tail = parts.after.length > context ? `${parts.after.slice(0, context)}…` : parts.after;
    const text = `${head}${parts.old === '' ? '' : c.red(`[-${parts.old}-]`)}${parts.new === '' ? '' : c.green(`{+${parts.new}+}`)}${tail}`;
    return [`  ${change.path}`, wrap(text, width, '      ')];
  }
  return [`${label}${c.red(inlineJson(before))} ${c.dim('→')} ${c.green(inlineJson(after))}`];
}

/** `recordings why`: the id, whether it is recorded, the nearest recordings, and the proxy's own message. */
export function renderWhy(explanation: Explanation, { colors: c, width }: RenderContext): string {
  const out = [
    `${c.dim('request   ')}${explanation.method} ${explanation.path}${explanation.model === null ? '' : ` · model "${explanation.model}"`}${explanation.testId === null ? '' : ` · test "${explanation.testId}"`}`,
    `${c.dim('id        ')}${c.bold(explanation.id)}`,
  ];
  if (explanation.problem !== undefined) {
    out.push(`${c.dim('recorded  ')}${c.red('yes, but the file cannot be read')}`, wrap(explanation.problem, width, '          '));
    return `${out.join('\n')}\n`;
  }
  const numeric = explanation.numericMatch;
  if (explanation.recorded && numeric !== undefined) {
    out.push(
      `${c.dim('recorded  ')}${c.green('yes, by a numeric match')}: ${c.bold(numeric.id)} has the same request number for number · ${explanation.file ?? ''}`,
      '',
      c.bold('numbers written differently'),
    );
    const pathWidth = Math.min(40, Math.max(0, ...numeric.differences.map((difference) => difference.path.length)));
    for (const { path, a, b } of numeric.differences.slice(0, 8)) out.push(`  ${pad(path, pathWidth)}  ${inlineJson(a)} → ${inlineJson(b)}`);
    if (numeric.differences.length > 8) out.push(c.dim(`  … and ${numeric.differences.length - 8} more`));
    out.push('', c.dim('  read recorded → requested; replay serves the recording with x-llm-replay-match: numeric'));
    return `${out.join('\n')}\n`;
  }
  if (explanation.recorded) {
    out.push(`${c.dim('recorded  ')}${c.green('yes')} · ${explanation.file ?? ''}`);
    return `${out.join('\n')}\n`;
  }
  out.push(`${c.dim('recorded  ')}${c.red('no')}: replay answers 404 recording_not_found`);
  if (explanation.nearest.length > 0) {
    out.push('', c.bold('nearest recordings'));
    explanation.nearest.forEach((match, i) => {
      const changes = [
        ...match.route.map((change) => ({ path: change.field, text: `${routeValue(change.recorded)} → ${routeValue(change.requested)}` })),
        ...match.differences.map((difference) => ({ path: difference.path, text: `${inlineJson(difference.a)} → ${inlineJson(difference.b)}` })),
      ];
      out.push(`  ${i + 1}. ${c.bold(match.id)}  ${match.method} ${match.endpoint}${match.model === '' ? '' : `  ${c.cyan(match.model)}`}  ${c.dim(plural(changes.length, 'difference'))}`);
      const pathWidth = Math.min(40, Math.max(0, ...changes.map((change) => change.path.length)));
      for (const change of changes.slice(0, 8)) out.push(`       ${pad(change.path, pathWidth)}  ${truncate(change.text, Math.max(30, width - pathWidth - 9))}`);
      if (changes.length > 8) out.push(c.dim(`       … and ${changes.length - 8} more`));
      if (changes.length === 0) out.push(c.dim(`       ${describeMatch(match)}`));
    });
    out.push('', c.dim(`  differences read recorded → requested`));
  }
  out.push('', c.bold('replay error'), wrap(missMessage(explanation), width, '  '));
  return `${out.join('\n')}\n`;
}

function counts(title: string, list: RecordingStats['byPath'], c: Colors): string[] {
  if (list.length === 0) return [];
  const countWidth = Math.max(...list.map((item) => String(item.count).length));
  return ['', c.bold(title), ...list.map((item) => `  ${pad(String(item.count), countWidth, 'right')}  ${item.key}`)];
}

/** `recordings stats`. */
export function renderStats(stats: RecordingStats, { colors: c }: RenderContext): string {
  const out = [`${c.bold(plural(stats.recordings, 'recording'))} in ${stats.dir} · ${formatBytes(stats.totalSize)}${stats.files === stats.recordings ? '' : ` · ${plural(stats.files, 'file')}`}`];
  out.push(...counts('by path', stats.byPath, c), ...counts('by model', stats.byModel, c), ...counts('by streaming', stats.byStreaming, c), ...counts('by status', stats.byStatus, c));
  if (stats.largest.length > 0) {
    const sizes = stats.largest.map((item) => formatBytes(item.size));
    const sizeWidth = Math.max(...sizes.map((size) => size.length));
    out.push('', c.bold('largest files'), ...stats.largest.map((item, i) => `  ${pad(sizes[i]!, sizeWidth, 'right')}  ${item.file}`));
  }
  out.push('', `${c.bold('file name does not match the request')}  ${stats.mismatched.length === 0 ? c.dim('none') : ''}`.trimEnd());
  for (const item of stats.mismatched) out.push(`  ${c.yellow(item.file)}  request gives ${item.expected}`);
  if (stats.invalid.length > 0) {
    out.push('', c.bold('unreadable files'));
    for (const item of stats.invalid) out.push(`  ${c.red(item.file)}  ${item.error}`);
  }
  return `${out.join('\n')}\n`;
}

/** `recordings verify`: a summary line, then one line per finding with how to fix it. */
export function renderVerify(report: VerifyReport, { colors: c, width }: RenderContext): string {
  const problems = report.checked - report.ok;
  if (verifyPassed(report)) {
    return `${c.green('✓')} ${plural(report.checked, 'recording')} in ${report.dir}: all safe to commit (valid, named by their request, no credentials).\n`;
  }
  const leftovers = report.leftovers.length === 0 ? '' : `; ${plural(report.leftovers.length, 'leftover temp file')} of interrupted writes`;
  const out = [`${c.red('✗')} ${plural(report.checked, 'file')} checked in ${report.dir}: ${report.ok} ok, ${problems} with problems${leftovers}.`];
  const rows: string[][] = [
    ...report.secrets.map((item) => ['secret', item.line === null ? item.file : `${item.file}:${item.line}`, `${item.kind}: ${item.preview}`]),
    ...report.invalid.map((item) => ['invalid', item.file, item.error]),
    ...report.mismatched.map((item) =>
      item.duplicateOf === null
        ? ['mismatched', item.file, `its request gives id ${item.expected}: rename it to ${item.expected}.json`]
        : ['duplicate', item.file, `a duplicate of ${item.duplicateOf}.json (the same request): delete it`],
    ),
    ...report.leftovers.map((file) => ['leftover', file, 'temp file of a write that never finished; delete it']),
  ];
  const kindWidth = Math.max(...rows.map((row) => row[0]!.length));
  const fileWidth = Math.min(50, Math.max(...rows.map((row) => row[1]!.length)));
  for (const [kind, file, detail] of rows) {
    const color = kind === 'secret' || kind === 'invalid' ? c.red : c.yellow;
    out.push(`  ${color(pad(kind!, kindWidth))}  ${pad(file!, fileWidth)}  ${truncate(detail!, Math.max(30, width - kindWidth - fileWidth - 6))}`);
  }
  const fixes: string[] = [];
  if (report.secrets.length > 0) fixes.push('remove each credential (revoke it if it was real) and re-record with the key in the environment, not the request');
  if (report.invalid.length > 0) fixes.push('fix or delete invalid files (re-record them)');
  if (report.mismatched.some((item) => item.duplicateOf === null)) fixes.push('rename mismatched files to the id shown, or re-record them');
  if (report.mismatched.some((item) => item.duplicateOf !== null)) fixes.push('delete duplicates: the proxy never reads them');
  if (report.leftovers.length > 0) {
    fixes.push(
      `delete the leftover temp files, which a killed llm-replay left and nothing reads (${removeCommand(report.dir, report.leftovers)}), or start \`llm-replay serve\` on this folder, which removes them at start`,
    );
  }
  out.push('', wrap(`To fix: ${fixes.join('; ')}.`, width));
  return `${out.join('\n')}\n`;
}

/** A shell command that deletes the leftover temp files: the `responses/.tmp/` ones and the older `responses/.<id>.json.<pid>.<hex>.tmp` ones. */
function removeCommand(dir: string, leftovers: readonly string[]): string {
  const responses = join(dir, 'responses');
  const globs: string[] = [];
  if (leftovers.some((file) => dirname(file) === join('responses', '.tmp'))) globs.push(`${shellQuote(join(responses, '.tmp'))}/*`);
  if (leftovers.some((file) => dirname(file) === 'responses')) globs.push(`${shellQuote(responses)}/.*.json.*.tmp`);
  return `rm ${globs.join(' ')}`;
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** `recordings import`: one line per file, then a total. */
export function renderImport(report: ImportReport, { colors: c, width }: RenderContext): string {
  const out: string[] = [];
  const verb = report.dryRun ? 'would copy' : 'copied';
  const labelWidth = Math.max(verb.length, 'unchanged'.length, 'skipped'.length);
  for (const item of report.copied) {
    const notes = [...(item.from === item.to ? ['same id'] : []), ...item.changes];
    const detail = notes.length === 0 ? '' : ` (${notes.join(', ')})`;
    const ids = item.from === item.to ? c.bold(item.to) : `${item.from} → ${c.bold(item.to)}`;
    out.push(`${c.green(pad(verb, labelWidth))}  ${ids}${c.dim(detail)}`);
  }
  for (const item of report.unchanged) {
    out.push(`${c.dim(pad('unchanged', labelWidth))}  ${item.from === item.to ? item.to : `${item.from} → ${item.to}`} ${c.dim('(already there, identical)')}`);
  }
  for (const item of report.skipped) {
    out.push(wrap(`${(item.reason === 'not-a-url' ? c.dim : c.yellow)(pad('skipped', labelWidth))}  ${item.id}: ${item.message}`, width).replace(/\n/g, `\n${' '.repeat(labelWidth + 2)}`));
  }
  const total = report.copied.length + report.unchanged.length + report.skipped.length;
  out.push(
    '',
    `${report.dryRun ? 'Dry run: ' : ''}${plural(total, 'recording')} from ${report.source} into ${report.destination}: ${report.copied.length} ${verb}, ${report.unchanged.length} unchanged, ${report.skipped.length} skipped.`,
  );
  return `${out.join('\n')}\n`;
}
