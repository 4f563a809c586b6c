/**
 * Gathers every benchmark's report in bench/results/ into bench/REPORT.md: the machine, a summary of the
 * lines that judge a target (those that say **met** or **missed**), then each report in full. It runs
 * nothing: each benchmark writes its own report when it runs, and this only puts them side by side.
 *
 *   node --import tsx bench/report.ts
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { totalmem } from 'node:os';
import { machine, ROOT } from './lib.js';

/** The order; any other report follows in name order. */
const ORDER = ['hot-path', 'real-route', 'audit-cost', 'audit-cost-postgres', 'cold-keys', 'cold-keys-postgres', 'cold-keys-c1', 'cold-keys-postgres-c1', 'under-attack', 'under-attack-postgres', 'multi-instance', 'revoke-latency', 'scale', 'audit-queries', 'memory', 'lookup-timing', 'verify', 'sdk-middleware', 'gateway', 'gateway-postgres'];

const RESULTS = join(ROOT, 'bench', 'results');

function rank(name: string): number {
  const index = ORDER.indexOf(name);
  return index === -1 ? ORDER.length : index;
}

/** Moves every heading one level down, so that each report's title sits under REPORT.md's own. */
function nest(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (line.startsWith('```')) fenced = !fenced;
      return !fenced && /^#{1,5} /.test(line) ? `#${line}` : line;
    })
    .join('\n');
}

function title(markdown: string, fallback: string): string {
  return /^# (.+)$/m.exec(markdown)?.[1]?.trim() ?? fallback;
}

const VERDICT = /\b(met|missed|not met|not judged)\b/i;

function cells(row: string): string[] {
  return row.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim());
}

/**
 * The lines of a report that judge a target: its headline figures. A sentence counts when it puts a
 * verdict in bold; a table row counts when a cell is a verdict, and is then written out as
 * "header: value" pairs.
 */
function verdicts(markdown: string): string[] {
  const found: string[] = [];
  let header: string[] | null = null;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      header = null;
      if (/\*\*(met|missed|not met|not judged)\b/i.test(line) || /\*\*(RSS grows|No growth)\*\*/.test(line) || /target[^|]*:\s*\*\*/i.test(line)) found.push(line.replace(/^[-*]\s+/, '').trim());
      continue;
    }
    const row = cells(line);
    if (header === null) header = row;
    else if (!row.every((cell) => /^:?-+:?$/.test(cell)) && row.some((cell) => VERDICT.test(cell.replace(/\*/g, '')) && cell.replace(/\*/g, '').length < 12)) {
      found.push(row.map((cell, i) => (i === 0 ? cell : `${header?.[i] ?? ''}: ${cell}`)).join(' · '));
    }
  }
  return found;
}

function anchor(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

const names = (await readdir(RESULTS))
  .filter((file) => file.endsWith('.md'))
  .map((file) => file.slice(0, -3))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

const reports = await Promise.all(names.map(async (name) => ({ name, markdown: (await readFile(join(RESULTS, `${name}.md`), 'utf8')).trim() })));
const { node, cpu, cores } = machine();

const lines = [
  '# Benchmark report',
  '',
  `Gathered by \`node --import tsx bench/report.ts\` from the reports in \`bench/results/\`; each report below`,
  'names the command that produced it and when it ran. These are measurements on a shared machine, not timed',
  'tests: compare the ratios inside one report rather than absolute figures across reports.',
  '',
  `- Machine: ${cpu}, ${cores} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${node} (the machine this report was gathered on; each report records its own)`,
  '',
  '## Targets',
  '',
];
for (const { name, markdown } of reports) {
  const found = verdicts(markdown);
  if (found.length === 0) continue;
  const heading = title(markdown, name);
  lines.push(`- [${heading}](#${anchor(heading)}) (\`bench/results/${name}.md\`)`);
  for (const verdict of found) lines.push(`  - ${verdict}`);
}
lines.push('');
for (const { name, markdown } of reports) lines.push(nest(markdown), '', `<sub>From \`bench/results/${name}.md\`.</sub>`, '');

await writeFile(join(ROOT, 'bench', 'REPORT.md'), lines.join('\n'));
process.stdout.write(`bench/REPORT.md: ${reports.length} reports\n`);
