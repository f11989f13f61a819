/** The generated golden modules (and their inputs) type-check under `strict`, importing `parad`. */
import { expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';

test('fixtures/*/*.ad.ts type-check with tsc --strict', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const project = path.resolve(import.meta.dirname, 'fixtures.tsconfig.json');
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? e);
  }
  expect(output).toBe('');
});
