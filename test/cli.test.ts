import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { main } from '../cli/main.js';

const root = path.resolve(import.meta.dirname, '..');
// inside the repo, so that generated code's `import 'parad'` resolves to this package
const work = path.join(root, '.tmp', `cli-${process.pid}`);

const good = `import type { f64, i32 } from 'parad';
/** @kernel */
export function scale(y: Float64Array, x: Float64Array, a: f64, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = a * x[i];
  }
}
`;
const bad = `import type { i32 } from 'parad';
/** @kernel */
export function broken(y: Float64Array, n: i32): void {
  let i = 0;
  while (i < n) {
    y[i] = 1;
  }
}
`;

async function run(...argv: string[]) {
  let stdout = '', stderr = '';
  const code = await main(argv, { cwd: work, stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
  return { code, stdout, stderr };
}

beforeAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(work, 'src'), { recursive: true });
  fs.writeFileSync(path.join(work, 'src/scale.ts'), good);
  fs.writeFileSync(path.join(work, 'src/broken.ts'), bad);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('parad transpile', () => {
  test('writes <out>/<name>.ad.ts exporting the primal, _d and _b', async () => {
    const r = await run('transpile', 'src/scale.ts', '--out', 'out');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('wrote out/scale.ad.ts (1 kernel)');
    const text = fs.readFileSync(path.join(work, 'out/scale.ad.ts'), 'utf8');
    for (const name of ['scale', 'scale_d', 'scale_b']) expect(text).toContain(`export function ${name}(`);
    expect(text).toMatch(/^import \{[^}]*\} from 'parad';$/m);
    expect(text.match(/^import /gm)).toHaveLength(1);
  });

  test('--format js writes an importable module whose adjoint works', async () => {
    const r = await run('transpile', 'src/*.ts', '--out', 'js', '--format', 'js');
    // broken.ts fails, scale.ts is still written
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(work, 'js/scale.ad.js'))).toBe(true);
    const mod = await import(pathToFileURL(path.join(work, 'js/scale.ad.js')).href);
    const y = new Float64Array(3), x = Float64Array.of(1, 2, 3), yb = Float64Array.of(1, 1, 1), xb = new Float64Array(3);
    expect(mod.scale_b(y, yb, x, xb, 2, 3)).toEqual({ ab: 6 });
    expect([...xb]).toEqual([2, 2, 2]);
    expect([...y]).toEqual([2, 4, 6]);
  });

  test('an unsupported construct: located diagnostic, exit 1, no file and no temp file left', async () => {
    const r = await run('transpile', 'src/broken.ts', '--out', 'bad');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('src/broken.ts:5:3 - error PARAD1101: a while loop is not supported in kernels');
    expect(r.stderr).toContain('> 5 |   while (i < n) {');
    expect(fs.existsSync(path.join(work, 'bad'))).toBe(false);
  });

  test('--modes d writes only the tangent', async () => {
    expect((await run('transpile', 'src/scale.ts', '--out', 'donly', '--modes', 'd')).code).toBe(0);
    const text = fs.readFileSync(path.join(work, 'donly/scale.ad.ts'), 'utf8');
    expect(text).toContain('export function scale_d(');
    expect(text).not.toContain('scale_b');
    expect((await run('transpile', 'src/scale.ts', '--out', 'donly', '--modes', 'x')).code).toBe(2);
  });

  test('--check: 0 when fresh, 1 when stale or missing, and writes nothing', async () => {
    await run('transpile', 'src/scale.ts', '--out', 'chk', '-q');
    expect((await run('transpile', 'src/scale.ts', '--out', 'chk', '--check')).code).toBe(0);
    fs.appendFileSync(path.join(work, 'chk/scale.ad.ts'), '// edited\n');
    const stale = await run('transpile', 'src/scale.ts', '--out', 'chk', '--check');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('chk/scale.ad.ts');
    expect((await run('transpile', 'src/scale.ts', '--out', 'nothing', '--check')).code).toBe(1);
    expect(fs.existsSync(path.join(work, 'nothing'))).toBe(false);
  });

  test('usage errors exit 2 with a message', async () => {
    const missing = await run('transpile', 'src/nope.ts', '--out', 'o');
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toContain('file not found: src/nope.ts');
    expect((await run('transpile', 'src/none*.ts', '--out', 'o')).stderr).toContain("no files match 'src/none*.ts'");
    expect((await run('transpile', 'src/scale.ts', '--out', 'o', '--bogus')).code).toBe(2);
    expect((await run('transpile', 'src/scale.ts')).code).toBe(2);
    expect((await run('frobnicate')).code).toBe(2);
    expect((await run('transpile', 'src/scale.ts', '--out', 'o', '--format', 'wasm')).code).toBe(2);
  });

  test('--help and --version', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('transpile');
    const version = await run('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });

  test('the bin runs as a process', () => {
    const out = execFileSync(process.execPath, [path.join(root, 'bin/parad.js'), 'transpile', 'src/scale.ts', '--out', 'bin-out'], { cwd: work, encoding: 'utf8' });
    expect(out).toContain('wrote bin-out/scale.ad.ts');
    const failing = spawnSync(process.execPath, [path.join(root, 'bin/parad.js'), 'transpile', 'src/broken.ts', '--out', 'bin-out'], { cwd: work, encoding: 'utf8' });
    expect(failing.status).toBe(1);
    expect(failing.stderr).toContain('PARAD1101');
  });
});
