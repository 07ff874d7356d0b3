// The README's test command: the whole suite on PGlite, and again on PostgreSQL when TEST_DATABASE_URL
// is set; browser tests once (PGlite, demo seed). Prints one "N passed, N failed" line and exits non-zero
// when anything failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const outDir = join(process.cwd(), '.test-data');
mkdirSync(outDir, { recursive: true });
const extra = process.argv.slice(2);

const runs = [{ name: 'pglite', env: { WICKET_TEST_DB: 'pglite', WICKET_BROWSER_TESTS: process.env.WICKET_SKIP_BROWSER === '1' ? '0' : '1' } }];
if (process.env.TEST_DATABASE_URL) runs.push({ name: 'postgres', env: { WICKET_TEST_DB: 'postgres', WICKET_BROWSER_TESTS: '0' } });

let passed = 0, failed = 0, skipped = 0, exitCode = 0;
const failures = [];
for (const run of runs) {
  const report = join(outDir, `report-${run.name}.json`);
  console.log(`\n=== test suite on ${run.name} ===`);
  const res = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra], {
    stdio: 'inherit',
    env: { ...process.env, ...run.env },
  });
  if (res.status !== 0) exitCode = 1;
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    if (r.numFailedTestSuites > 0 && r.numFailedTests === 0) failed += r.numFailedTestSuites;
    failures.push(...failuresOf(r, run.name));
  } else {
    failed += 1;
    failures.push(`[${run.name}] vitest wrote no report (exit ${res.status})`);
  }
}
// The failures again, last, so that the tail of a long log (all a CI page may show) names them.
if (failures.length) console.log(`\nFailed:\n${failures.join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(exitCode || (failed > 0 ? 1 : 0));

/** One line per failed test (or suite that failed outside any test), with the first line of its error. */
function failuresOf(report, runName) {
  const out = [];
  for (const file of report.testResults ?? []) {
    const path = file.name.startsWith(process.cwd()) ? file.name.slice(process.cwd().length + 1) : file.name;
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failedTests) out.push(`[${runName}] ${path} > ${t.fullName}\n    ${firstLine(t.failureMessages?.[0])}`);
    if (file.status === 'failed' && failedTests.length === 0) out.push(`[${runName}] ${path}\n    ${firstLine(file.message)}`);
  }
  return out;
}

function firstLine(text) {
  return String(text ?? '').split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 300) ?? '';
}
