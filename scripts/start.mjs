// npm start: the server on the embedded database with the demo installation, and the console.
// Builds the console once (rebuilt only when its sources change), then runs both until Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isConsoleBuildCurrent, markConsoleBuilt } from './console-build.mjs';

const root = process.cwd();
const dev = process.argv.includes('--dev');
const consoleDir = join(root, 'apps/console');
const port = process.env.PORT ?? '4000';
const consolePort = process.env.CONSOLE_PORT ?? '3000';
const env = {
  ...process.env,
  PORT: port,
  CONSOLE_PORT: consolePort,
  WICKET_DEMO: process.env.WICKET_DEMO ?? (process.env.DATABASE_URL ? '0' : '1'),
  NEXT_PUBLIC_WICKET_API_URL: process.env.NEXT_PUBLIC_WICKET_API_URL ?? `http://localhost:${port}`,
  NEXT_TELEMETRY_DISABLED: '1',
};

const hasConsole = existsSync(join(consoleDir, 'src')) || existsSync(join(consoleDir, 'app'));
if (hasConsole && !dev) {
  if (!isConsoleBuildCurrent(consoleDir)) {
    console.log('building the console (once; rebuilt when its sources change)…');
    const r = spawnSync('npx', ['next', 'build'], { cwd: consoleDir, stdio: 'inherit', env });
    if (r.status !== 0) process.exit(r.status ?? 1);
    markConsoleBuilt(consoleDir);
  }
}

const children = [];
function run(name, cmd, args, opts) {
  const child = spawn(cmd, args, { stdio: 'inherit', env, ...opts });
  child.on('exit', (code) => {
    console.log(`${name} exited (${code})`);
    for (const c of children) if (c !== child && c.exitCode === null) c.kill('SIGTERM');
    process.exitCode = code ?? 1;
  });
  children.push(child);
}

run('server', 'npx', ['tsx', 'apps/server/src/main.ts'], { cwd: root });
if (hasConsole) run('console', 'npx', ['next', dev ? 'dev' : 'start', '-p', consolePort], { cwd: consoleDir });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => children.forEach((c) => c.kill(sig)));
