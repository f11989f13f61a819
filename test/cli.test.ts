/**
 * The `parad` command against the real compile(): in-process through `main()` (with its own working
 * directory and captured output), and once as `node bin/parad.js` (which needs `npm run build`).
 * Files live in a fresh folder under .tmp/ (gitignored) inside the repository, so that generated
 * JavaScript resolves `import 'parad'` to dist/ by package self-reference.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../cli/main.js';
import { compile } from '../transformer/index.js';

const root = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
const tmpRoot = path.join(root, '.tmp');
let dir = '';
let runs = 0;

const SCALE = `import type { f64, i32 } from 'parad';
/** @kernel */
export function scale(y: Float64Array, x: Float64Array, a: f64, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = a * x[i];
  }
}
`;

/** A sequential recurrence returning a float: its adjoint uses the runtime's Tape. */
const RECURRENCE = `import type { f64, i32 } from 'parad';
/** @kernel */
export function rec(y: Float64Array, x: Float64Array, a: f64, n: i32): f64 {
  let s = a;
  for (let i = 0; i < n; i++) {
    s = Math.sin(s + x[i]);
    y[i] = s * y[i];
  }
  return s;
}
`;

/** A while loop is outside the kernel language (line 5, column 3). */
const BROKEN = `import type { i32 } from 'parad';
/** @kernel */
export function broken(y: Float64Array, n: i32): void {
  let i = 0;
  while (i < n) {
    y[i] = 2 * y[i];
    i++;
  }
}
`;

/** Valid, but without kernels: an error for a file named on the command line, skipped when a glob matched it. */
const NO_KERNELS = 'export const answer = 42;\n';

/** A kernel whose index uses `/`: compiles, with a warning (PARAD1210). */
const HALF = `import type { i32 } from 'parad';
/** @kernel */
export function half(y: Float64Array, x: Float64Array, n: i32): void {
  for (let i = 0; i < n; i++) {
    y[i] = x[i / 2];
  }
}
`;

/** A syntax error (the loop header's missing parenthesis, line 4 column 30). */
const SYNTAX = `import type { i32 } from 'parad';
/** @kernel */
export function bad(y: Float64Array, n: i32): void {
  for (let i = 0; i < n; i++ {
    y[i] = 2 * y[i];
  }
}
`;

beforeAll(() => fs.mkdirSync(tmpRoot, { recursive: true }));
afterAll(() => {
  if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

beforeEach(() => {
  // one folder per test: .tmp/cli-test-<pid>/<n>
  dir = path.join(tmpRoot, `cli-test-${process.pid}`, String(++runs));
  fs.mkdirSync(dir, { recursive: true });
});

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
}
const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
const exists = (name: string) => fs.existsSync(path.join(dir, name));
/** Every file under `sub`, relative to it (temporary files included). */
const listing = (sub: string) =>
  exists(sub) ? (fs.readdirSync(path.join(dir, sub), { recursive: true }) as string[]).sort() : [];

/** Runs `parad ...args` in-process in the test's folder. */
async function parad(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '',
    stderr = '';
  const code = await main(args, {
    cwd: dir,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

describe('parad transpile', () => {
  test('writes <out>/<name>.ad.ts with what compile() generates, and a summary line', async () => {
    write({ 'kernels/scale.ts': SCALE });
    const r = await parad('transpile', 'kernels/scale.ts', '--out', 'out');
    expect(r).toEqual({ code: 0, stdout: 'wrote out/scale.ad.ts (1 kernel)\n', stderr: '' });
    expect(listing('out')).toEqual(['scale.ad.ts']);
    const expected = (await compile(SCALE, { fileName: 'kernels/scale.ts' })).code;
    expect(read('out/scale.ad.ts')).toBe(expected);
    // the file name given to compile() is relative to the working directory
    expect(read('out/scale.ad.ts')).toContain('kernels/scale.ts:');
    expect(read('out/scale.ad.ts')).toMatch(/export function scale_d\(.*\n[\s\S]*export function scale_b\(/);
  });

  test('a layer file importing a kernel file: one module with both, the summary counts layers, analyze reads the import', async () => {
    write({
      'k/scale.ts': SCALE,
      'model/layer.ts': `import type { f64, i32 } from 'parad';
import { scale } from '../k/scale.js';
/** @layer */
export function twice(y: Float64Array, x: Float64Array, a: f64, n: i32): void {
  const t = new Float64Array(n);
  scale(t, x, a, n);
  scale(y, t, a, n);
}
`,
    });
    const r = await parad('transpile', 'model/layer.ts', '--out', 'out');
    expect(r).toEqual({ code: 0, stdout: 'wrote out/layer.ad.ts (1 layer)\n', stderr: '' });
    const text = read('out/layer.ad.ts');
    expect(text).toMatch(/^function scale_b\(/m);
    expect(text).toMatch(/^export function twice_b\(/m);
    expect(text.match(/^import .*/gm)!.every((l) => l.endsWith("from 'parad';"))).toBe(true);
    const a = await parad('analyze', 'model/layer.ts', '--json');
    expect(a.code, a.stderr).toBe(0);
    // a missing import: the call is reported at its location
    write({ 'model/bad.ts': '/** @layer */\nexport function L(x: Float64Array): void {\n  nothing(x);\n}\n' });
    const bad = await parad('transpile', 'model/bad.ts', '--out', 'out');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^model\/bad\.ts:3:3 - error PARAD1402: 'nothing' is not a kernel or layer/m);
    expect(exists('out/bad.ad.ts')).toBe(false);
  });

  test('a race in a kernel file a layer imports: printed in that file with its code frame, then the import with its own', async () => {
    write({
      'k/racy.ts': SCALE.replace('y[i] = a * x[i]', 'y[0] = a * x[i]'),
      'model/racy.ts':
        "import type { f64, i32 } from 'parad';\nimport { scale } from '../k/racy.js';\n/** @layer */\nexport function L(y: Float64Array, x: Float64Array, a: f64, n: i32): void {\n  scale(y, x, a, n);\n}\n",
    });
    const r = await parad('transpile', 'model/racy.ts', '--out', 'out');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^k\/racy\.ts:5:3 - error PARAD2001: this @parallel loop of 'scale' is not parallel: .*\n> 5 \|   for \(let i = 0; i < n; i\+\+\) \{\n {4}\| {3}\^+\n {2}model\/racy\.ts:2:10 - note: imported here\n {2}> 2 \| import \{ scale \} from '\.\.\/k\/racy\.js';\n {6}\| {10}\^{5}\n/m,
    );
    expect(exists('out/racy.ad.ts')).toBe(false);
  });

  test('several files and globs; generated modules and .d.ts files are not taken as input', async () => {
    write({
      'k/scale.ts': SCALE,
      'k/rec.ts': RECURRENCE,
      'k/old.ad.ts': '// generated\n',
      'k/old.ad.js': '// generated\n',
      'k/types.d.ts': 'export {};\n',
    });
    const r = await parad('transpile', 'k/*', 'k/scale.ts', '-o', 'out');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('wrote out/rec.ad.ts (1 kernel)\nwrote out/scale.ad.ts (1 kernel)\n');
    expect(listing('out')).toEqual(['rec.ad.ts', 'scale.ad.ts']);
  });

  test('a file with errors: exit 1, located diagnostics with a code frame, nothing written for it', async () => {
    write({ 'broken.ts': BROKEN, 'scale.ts': SCALE });
    const r = await parad('transpile', 'broken.ts', 'scale.ts', '--out', 'out');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^broken\.ts:5:3 - error PARAD1\d{3}: .*while/m);
    expect(r.stderr).toContain('> 5 |   while (i < n) {');
    expect(r.stderr).toContain('broken.ts: 1 error; out/broken.ad.ts not written');
    // the other file is still written; no partial or temporary file is left behind
    expect(r.stdout).toBe('wrote out/scale.ad.ts (1 kernel)\n');
    expect(listing('out')).toEqual(['scale.ad.ts']);
  });

  test('only a broken file: exit 1 and no output at all', async () => {
    write({ 'broken.ts': BROKEN });
    const r = await parad('transpile', 'broken.ts', '--out', 'out');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(listing('out')).toEqual([]);
  });

  test('warnings are printed and the file is still written', async () => {
    write({ 'half.ts': HALF });
    const r = await parad('transpile', 'half.ts', '--out', 'out');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^half\.ts:5:5 - warning PARAD1210: /m);
    expect(r.stdout).toBe('wrote out/half.ad.ts (1 kernel)\n');
  });

  test('a file without kernels: named, an error (exit 1, nothing written); matched by a glob, skipped with a note', async () => {
    write({ 'k/none.ts': NO_KERNELS, 'k/scale.ts': SCALE });
    const named = await parad('transpile', 'k/none.ts', '--out', 'out');
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(/^k\/none\.ts:1:1 - error PARAD1010: no kernels in this file/m);
    expect(named.stderr).toContain('k/none.ts: 1 error; out/none.ad.ts not written');
    expect(named.stdout).toBe('');
    expect(listing('out')).toEqual([]);
    const globbed = await parad('transpile', 'k/*.ts', '--out', 'out');
    expect(globbed).toEqual({
      code: 0,
      stdout: 'wrote out/scale.ad.ts (1 kernel)\n',
      stderr: 'k/none.ts: skipped (no @kernel or @layer functions)\n',
    });
    expect(listing('out')).toEqual(['scale.ad.ts']);
    const analyzed = await parad('analyze', 'k/*.ts', '--json');
    expect(analyzed.code).toBe(0);
    expect((JSON.parse(analyzed.stdout) as { files: { file: string }[] }).files.map((f) => f.file)).toEqual([
      'k/scale.ts',
    ]);
    expect((await parad('analyze', 'k/none.ts')).code).toBe(1);
  });

  test('a syntax error: located error with a code frame, exit 1, nothing written in either format', async () => {
    write({ 'bad.ts': SYNTAX });
    for (const format of ['ts', 'js']) {
      const r = await parad('transpile', 'bad.ts', '--out', 'out', '--format', format);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^bad\.ts:4:30 - error PARAD1000: syntax error: '\)' expected \(TS1005\)\n  3 \| .*\n> 4 \|   for \(let i = 0; i < n; i\+\+ \{\n    \| {30}\^/m,
      );
      expect(r.stdout).toBe('');
      expect(listing('out')).toEqual([]);
    }
  });

  test('--quiet prints nothing on success', async () => {
    write({ 'scale.ts': SCALE });
    expect(await parad('transpile', 'scale.ts', '--out', 'out', '--quiet')).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    expect(exists('out/scale.ad.ts')).toBe(true);
  });

  test('--modes d generates only the tangent', async () => {
    write({ 'scale.ts': SCALE });
    expect((await parad('transpile', 'scale.ts', '--out', 'out', '--modes', 'd')).code).toBe(0);
    const text = read('out/scale.ad.ts');
    expect(text).toBe((await compile(SCALE, { fileName: 'scale.ts', modes: ['d'] })).code);
    expect(text).toContain('export function scale_d(');
    expect(text).not.toContain('export function scale_b(');
  });

  test('--schedule parallel gathers in JavaScript too; --adjoint direct forces the strategy everywhere it applies (no gather pass)', async () => {
    const window = `import type { i32 } from 'parad';
/** @kernel */
export function win(b: Float64Array, c: Float64Array, n: i32): void {
  // @parallel
  for (let i = 1; i < n - 1; i++) b[i] = c[i - 1] + c[i + 1];
}
`;
    write({ 'win.ts': window });
    expect((await parad('transpile', 'win.ts', '--out', 'out')).code).toBe(0);
    expect(read('out/win.ad.ts')).not.toContain('gather (TF-MAD)');
    expect((await parad('transpile', 'win.ts', '--out', 'par', '--schedule', 'parallel')).code).toBe(0);
    expect(read('par/win.ad.ts')).toContain('gather (TF-MAD)');
    expect(
      (await parad('transpile', 'win.ts', '--out', 'direct', '--adjoint', 'direct', '--schedule', 'parallel')).code,
    ).toBe(0);
    const text = read('direct/win.ad.ts');
    expect(text).toBe((await compile(window, { fileName: 'win.ts', strategy: 'direct', schedule: 'parallel' })).code);
    expect(text).not.toContain('gather (TF-MAD)');
    expect((await parad('transpile', 'win.ts', '--out', 'x', '--adjoint', 'fastest')).code).toBe(2);
  });

  test('--target ts,wgsl exports wgsl (type-checked), --emit-wgsl writes the shaders; a 64-bit kernel gets PARAD3001', async () => {
    const heat = `import type { f32, i32 } from 'parad';
/** @kernel */
export function heat(u: Float32Array, tmp: Float32Array, kappa: f32, n: i32): void {
  // @parallel
  for (let i = 1; i < n - 1; i++) tmp[i] = u[i] + kappa * (u[i - 1] - 2 * u[i] + u[i + 1]);
  // @parallel
  for (let i = 1; i < n - 1; i++) u[i] = tmp[i];
}
`;
    write({ 'heat.ts': heat, 'scale.ts': SCALE });
    const r = await parad('transpile', 'heat.ts', '--out', 'out', '--target', 'ts,wgsl', '--emit-wgsl', 'out/wgsl');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('wrote 9 shaders to out/wgsl');
    expect(r.stderr).not.toContain('PARAD3002'); // the adjoint runs on WGSL too
    // K_b: the two forward passes, the reverse of the copy, the reverse of the stencil (staging ub's
    // contributions, private copies of kappab), the gather of ub
    expect(fs.readdirSync(path.join(dir, 'out/wgsl')).sort()).toEqual([
      'heat.0.wgsl',
      'heat.1.wgsl',
      ...[0, 1, 2, 3, 4].map((i) => `heat_b.${i}.wgsl`),
      'heat_d.0.wgsl',
      'heat_d.1.wgsl',
    ]);
    expect(read('out/wgsl/heat.0.wgsl')).toContain('@compute @workgroup_size(64, 1, 1)');
    const text = read('out/heat.ad.ts');
    expect(text).toContain('export const wgsl: WgslModule = {');
    // the module type-checks (strict), `parad` resolving to this package
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const check = spawnSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        path.join(dir, 'out/heat.ad.ts'),
      ],
      { encoding: 'utf8' },
    );
    expect(check.stdout + check.stderr).toBe('');
    const f64 = await parad('transpile', 'scale.ts', '--out', 'out64', '--target', 'wgsl');
    expect(f64.code).toBe(1);
    expect(f64.stderr).toMatch(
      /PARAD3001: kernel 'scale' cannot run on WebGPU: 'y' is Float64Array: WGSL has no 64-bit floats/,
    );
    expect(exists('out64/scale.ad.ts')).toBe(false);
    expect((await parad('transpile', 'heat.ts', '--out', 'x', '--target', 'glsl')).code).toBe(2);
  });

  test('rewriting an existing output replaces it', async () => {
    write({ 'scale.ts': SCALE, 'out/scale.ad.ts': 'stale\n' });
    expect((await parad('transpile', 'scale.ts', '--out', 'out')).code).toBe(0);
    expect(read('out/scale.ad.ts')).toBe((await compile(SCALE, { fileName: 'scale.ts' })).code);
    expect(listing('out')).toEqual(['scale.ad.ts']);
  });
});

describe('parad transpile --format js in a CommonJS package', () => {
  test('warns that Node would load the ES module output as CommonJS', async () => {
    write({ 'pkg/package.json': '{ "name": "cjs-app" }\n', 'pkg/k.ts': SCALE });
    const r = await parad('transpile', 'pkg/k.ts', '--out', 'pkg/out', '--format', 'js');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: the generated .ad.js files are ES modules');
    expect(r.stderr).toContain('pkg/package.json has no "type": "module"');
    write({ 'esm/package.json': '{ "name": "esm-app", "type": "module" }\n', 'esm/k.ts': SCALE });
    expect((await parad('transpile', 'esm/k.ts', '--out', 'esm/out', '--format', 'js')).stderr).toBe('');
  });
});

describe('parad transpile --check', () => {
  test('up to date: exit 0; stale or missing: exit 1 naming the file; never writes', async () => {
    write({ 'scale.ts': SCALE, 'rec.ts': RECURRENCE });
    expect((await parad('transpile', 'scale.ts', 'rec.ts', '--out', 'out')).code).toBe(0);

    const fresh = await parad('transpile', 'scale.ts', 'rec.ts', '--out', 'out', '--check');
    expect(fresh).toEqual({
      code: 0,
      stdout: 'out/scale.ad.ts is up to date\nout/rec.ad.ts is up to date\n',
      stderr: '',
    });

    fs.appendFileSync(path.join(dir, 'out/scale.ad.ts'), '// edited\n');
    fs.rmSync(path.join(dir, 'out/rec.ad.ts'));
    const stale = await parad('transpile', 'scale.ts', 'rec.ts', '--out', 'out', '--check');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('out/scale.ad.ts is out of date');
    expect(stale.stderr).toContain('out/rec.ad.ts is missing');
    expect(read('out/scale.ad.ts')).toContain('// edited');
    expect(listing('out')).toEqual(['scale.ad.ts']);
  });

  test('compares with the output of the same options', async () => {
    write({ 'scale.ts': SCALE });
    expect((await parad('transpile', 'scale.ts', '--out', 'out')).code).toBe(0);
    const r = await parad('transpile', 'scale.ts', '--out', 'out', '--check', '--format', 'js');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('out/scale.ad.js is missing');
  });

  test('does not create the output folder', async () => {
    write({ 'scale.ts': SCALE });
    expect((await parad('transpile', 'scale.ts', '--out', 'out', '--check')).code).toBe(1);
    expect(exists('out')).toBe(false);
  });
});

describe('usage errors exit with 2 and say why', () => {
  test.each([
    ['an unknown command', ['compile', 'scale.ts'], /unknown command 'compile'/],
    ['an unknown option', ['transpile', 'scale.ts', '--out', 'out', '--fast'], /unknown option '--fast'/],
    ['no --out', ['transpile', 'scale.ts'], /required option '-o, --out <dir>' not specified/],
    ['no input files', ['transpile', '--out', 'out'], /missing required argument 'files'/],
    ['a missing file', ['transpile', 'nope.ts', '--out', 'out'], /error: file not found: nope\.ts/],
    [
      'a glob matching nothing',
      ['transpile', 'kernels/*.ts', '--out', 'out'],
      /error: no files match 'kernels\/\*\.ts'/,
    ],
    ['a folder instead of files', ['transpile', 'sub', '--out', 'out'], /sub is not a file .*'sub\/\*\.ts'/],
    ['an unknown format', ['transpile', 'scale.ts', '--out', 'out', '--format', 'wgsl'], /argument 'wgsl' is invalid/],
    ['an unknown mode', ['transpile', 'scale.ts', '--out', 'out', '--modes', 'd,x'], /unknown mode 'x'/],
    ['--out naming a file', ['transpile', 'scale.ts', '--out', 'scale.ts'], /--out scale\.ts is not a directory/],
    [
      'two inputs with the same name',
      ['transpile', 'scale.ts', 'sub/scale.ts', '--out', 'out'],
      /scale\.ts and sub\/scale\.ts would both be written to out\/scale\.ad\.ts/,
    ],
    [
      '--emit-wgsl without --target wgsl',
      ['transpile', 'scale.ts', '--out', 'out', '--emit-wgsl', 'out/wgsl'],
      /error: --emit-wgsl writes the shaders of --target wgsl: add --target wgsl/,
    ],
    ['no command', [], /Usage: parad/],
  ])('%s', async (_name, args, message) => {
    write({ 'scale.ts': SCALE, 'sub/scale.ts': SCALE });
    const r = await parad(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(exists('out')).toBe(false);
  });
});

describe('help and version', () => {
  test('--help lists the commands', async () => {
    const r = await parad('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: parad /);
    expect(r.stdout).toContain('transpile [options] <files...>');
  });

  test('transpile --help lists its options', async () => {
    const r = await parad('transpile', '--help');
    expect(r.code).toBe(0);
    for (const option of [
      '--out <dir>',
      '--format <format>',
      '--modes <modes>',
      '--target <targets>',
      '--emit-wgsl <dir>',
      '--adjoint <strategy>',
      '--check',
      '--quiet',
    ])
      expect(r.stdout).toContain(option);
  });

  test('--version prints the package version', async () => {
    expect(await parad('--version')).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(await parad('-v')).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });
});

describe('the installed command (needs npm run build)', () => {
  const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });

  beforeAll(() => {
    if (!fs.existsSync(path.join(root, 'dist/cli/main.js')))
      throw new Error('dist/ is missing: run npm run build first');
  });

  test('node bin/parad.js transpile: exit codes and output', async () => {
    write({ 'scale.ts': SCALE, 'broken.ts': BROKEN });
    const bin = path.join(root, 'bin/parad.js');
    const ok = node([bin, 'transpile', 'scale.ts', '--out', 'out']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('wrote out/scale.ad.ts (1 kernel)\n');
    expect(read('out/scale.ad.ts')).toBe((await compile(SCALE, { fileName: 'scale.ts' })).code);

    const bad = node([bin, 'transpile', 'broken.ts', '--out', 'out']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^broken\.ts:5:3 - error PARAD1\d{3}/m);

    const usage = node([bin, 'transpile', 'missing.ts', '--out', 'out']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('file not found: missing.ts');

    expect(node([bin, '--version']).stdout).toBe(`${pkg.version}\n`);
  });

  test('--format js output runs in node, imports parad, and passes parad/testing', () => {
    write({ 'rec.ts': RECURRENCE });
    const r = node([path.join(root, 'bin/parad.js'), 'transpile', 'rec.ts', '--out', 'out', '--format', 'js']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('wrote out/rec.ad.js (1 kernel)\n');
    const js = read('out/rec.ad.js');
    expect(js).toMatch(/^import \{ Tape \} from 'parad';$/m);
    expect(js).not.toMatch(/: Float64Array|: f64/);

    const script = `
      import * as mod from './out/rec.ad.js';
      import { checkAdjoint, checkTangent } from 'parad/testing';
      const args = { y: Float64Array.of(0.5, 0.9, 1.1, 0.3), x: Float64Array.of(0.2, 0.4, 0.6, 0.8), a: 0.7, n: 4 };
      const results = [checkTangent(mod, 'rec', args), checkAdjoint(mod, 'rec', args)];
      console.log(JSON.stringify({ exports: Object.keys(mod).sort(), ok: results.map((x) => x.ok), messages: results.map((x) => x.message) }));`;
    const run = node(['--input-type=module', '-e', script]);
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { exports: string[]; ok: boolean[]; messages: string[] };
    expect(out.exports).toEqual(['__parad', 'rec', 'rec_b', 'rec_d']);
    expect(out.ok, out.messages.join('\n')).toEqual([true, true]);
  });
});
