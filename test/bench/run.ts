/**
 * npm run bench [-- NAME…] [-- --entries 1000000]
 *
 * Runs every benchmark in this folder (`*.bench.ts`), each in its own process so one's warm caches and
 * open handles never colour another's figures, and prints each one's figures as they come, then a
 * summary. NAME filters by file name (`npm run bench -- audit-read`); options after the names are passed
 * to every benchmark.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const firstOption = argv.findIndex((a) => a.startsWith('-'));
const names = firstOption === -1 ? argv : argv.slice(0, firstOption);
const passThrough = firstOption === -1 ? [] : argv.slice(firstOption);

// The read, proxy and stream benchmarks first (the figures docs/benchmarks.md records), then the rest.
const ORDER = ['audit-read', 'proxy', 'stream'];
const rank = (file: string) => {
  const i = ORDER.indexOf(file.replace(/\.bench\.ts$/, ''));
  return i === -1 ? ORDER.length : i;
};
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => names.length === 0 || names.some((n) => f.includes(n)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

if (files.length === 0) {
  console.error(`no benchmark matches ${names.join(', ')}`);
  process.exit(2);
}

function run(file: string): Promise<{ code: number; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, file), ...passThrough], { stdio: 'inherit', env: process.env });
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), seconds: (performance.now() - started) / 1000 }));
  });
}

const summary: string[] = [];
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ${'='.repeat(Math.max(0, 70 - file.length))}`);
  const { code, seconds } = await run(file);
  if (code !== 0) failed++;
  summary.push(`  ${code === 0 ? 'ok    ' : 'FAILED'} ${file} (${seconds.toFixed(0)} s)`);
}
console.log(`\n=== summary\n${summary.join('\n')}`);
process.exit(failed ? 1 : 0);
