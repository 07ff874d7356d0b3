import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../../db/migrations/index.ts';
import { migrationsFolder } from './migrate.ts';

describe('migrations registry', () => {
  it('lists every migration file in db/migrations', () => {
    const files = readdirSync(migrationsFolder)
      .filter((f) => /^\d{14}_.+\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''));
    expect(Object.keys(migrations).sort()).toEqual(files.sort());
  });
});
