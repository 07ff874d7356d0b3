import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSchemaText } from '@wicket/graph';

describe('schema.graphql', () => {
  it('is the schema printed from Pothos (run npm run generate when this fails)', () => {
    expect(readFileSync('schema.graphql', 'utf8')).toBe(printSchemaText());
  });
});
