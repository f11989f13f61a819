/** The independent contract check in ../shared/contract passes on what the CLI generates. */
import { expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(import.meta.dirname, '..');
const contract = path.resolve(root, '../shared/contract');

test('shared/contract check passes', () => {
  expect(fs.existsSync(contract), `${contract} (the shared contract check) must be beside the repo`).toBe(true);
  const out = path.join(root, '.contract-out');
  fs.rmSync(out, { recursive: true, force: true });
  const t = spawnSync(process.execPath, [path.join(root, 'bin/parad.js'), 'transpile', path.join(contract, 'examples.ts'), '--out', out, '--format', 'js'], { encoding: 'utf8' });
  expect(t.status, t.stderr).toBe(0);
  const check = spawnSync(process.execPath, [path.join(contract, 'check.mjs'), out], { encoding: 'utf8' });
  expect(check.stdout).toMatch(/(\d+) passed, 0 failed/);
  expect(check.status, check.stdout + check.stderr).toBe(0);
});
