import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * `npm start` and `npm test` begin with `npm install`, on whatever Node the user has that package.json's
 * `engines` allows. Every package the lockfile installs must accept the oldest such Node: a dependency
 * that declares a newer one (as @whatwg-node/promise-helpers 2 and disposablestack 0.1 did, `node >=
 * 22.15`, through graphql-yoga's executor) prints EBADENGINE warnings on a fresh machine and may stop
 * working on the next patch release. package.json's `overrides` pin such packages; this test says when
 * one is needed.
 */
const root = join(import.meta.dirname, '../..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};

describe('supported Node versions', () => {
  const oldest = semver.minVersion(manifest.engines.node)!.version;

  it('the Node running the tests is one package.json accepts', () => {
    expect(semver.satisfies(process.version, manifest.engines.node), `${process.version} against ${manifest.engines.node}`).toBe(true);
  });

  it(`every package in the lockfile accepts the oldest supported Node (${oldest})`, () => {
    const refusing: string[] = [];
    let checked = 0;
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const range = pkg.engines && !Array.isArray(pkg.engines) ? pkg.engines.node : undefined;
      if (!path || !range) continue;
      checked++;
      if (!semver.satisfies(oldest, range)) refusing.push(`${path}@${pkg.version} wants node ${range}`);
    }
    expect(checked).toBeGreaterThan(50);
    expect(refusing).toEqual([]);
  });
});
