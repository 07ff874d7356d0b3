#!/usr/bin/env node
// Runs `next <dev|start|build|typegen>` with telemetry off; dev and start listen on CONSOLE_PORT (default 3000).
// A script rather than `${CONSOLE_PORT:-3000}` in package.json, which only POSIX shells expand.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const [command = 'start', ...rest] = process.argv.slice(2);
const port = process.env.CONSOLE_PORT || '3000';
const require = createRequire(import.meta.url);
const nextBin = require.resolve('next/dist/bin/next');

const portArgs = command === 'dev' || command === 'start' ? ['-p', port] : [];
const child = spawn(process.execPath, [nextBin, command, ...portArgs, ...rest], {
  stdio: 'inherit',
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
