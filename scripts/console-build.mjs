// One notion of "the console build is current", shared by `npm start` and the browser tests, so that
// neither forces the other to rebuild: a hash of the console's sources, kept beside the build output.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const IGNORED = new Set(['node_modules', '.next', '.next-build.lock', 'next-env.d.ts', 'README.md']);

export function consoleSourceHash(consoleDir) {
  const h = createHash('sha256');
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      if (IGNORED.has(name) || name.endsWith('.tsbuildinfo')) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p.slice(consoleDir.length)).update(readFileSync(p));
    }
  };
  walk(consoleDir);
  return h.digest('hex');
}

const stampOf = (consoleDir) => join(consoleDir, '.next', 'wicket-build-stamp');

export function isConsoleBuildCurrent(consoleDir) {
  const stamp = stampOf(consoleDir);
  return existsSync(stamp) && readFileSync(stamp, 'utf8') === consoleSourceHash(consoleDir);
}

export function markConsoleBuilt(consoleDir) {
  mkdirSync(join(consoleDir, '.next'), { recursive: true });
  writeFileSync(stampOf(consoleDir), consoleSourceHash(consoleDir));
}
