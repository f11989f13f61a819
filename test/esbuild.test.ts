/**
 * parad/esbuild: a bundle importing kernel files gets the generated modules (checked numerically),
 * diagnostics become esbuild messages at the kernel's line and column, rebuilds re-transpile only
 * what changed (and watch mode sees kernel edits), source maps lead back to kernel lines, and the
 * generated declarations type an app with tsc.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { parad as paradPlugin, type ParadPluginOptions } from '../plugin/esbuild.js';

/** The plugin, counting what it transpiles and what it answers from its cache. */
function parad(options: ParadPluginOptions = {}) {
  const stats = { transpiled: 0, cached: 0, files: [] as string[] };
  const plugin = paradPlugin({
    ...options,
    onKernel: (e) => {
      if (!e.transpiled) return void stats.cached++;
      stats.transpiled++;
      stats.files.push(e.file);
    },
  });
  return Object.assign(plugin, { stats });
}
import { checkAdjoint, checkTangent } from '../testing/index.js';
import { blurKernel, gatherKernel, twiceLayer, writeFiles } from './support/kernel-files.js';

const root = path.resolve(import.meta.dirname, '..');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-esbuild-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (files: Record<string, string>) => writeFiles(dir, files);

const blur = (gain = 'gain') => blurKernel(gain);

/** The plugin without the stats (esbuild rejects unknown keys on plugins). */
const plain = ({ name, setup }: esbuild.Plugin): esbuild.Plugin => ({ name, setup });

/** esbuild options of the tests: `parad` (the generated code's one import) resolves to this package's runtime */
const options = (entry: string, extra: esbuild.BuildOptions = {}): esbuild.BuildOptions => ({
  entryPoints: [path.join(dir, entry)],
  bundle: true,
  format: 'esm',
  platform: 'node',
  absWorkingDir: dir,
  alias: { parad: path.join(root, 'dist/runtime/index.js') },
  logLevel: 'silent',
  write: true,
  ...extra,
});

describe('parad/esbuild', () => {
  test('a bundle importing a kernel file runs its derivatives, which pass the FD and dot-product tests', async () => {
    write({
      'k/blur.kernel.ts': blur(),
      'app.ts': "export * from './k/blur.kernel.ts';\n",
    });
    const plugin = parad();
    const r = await esbuild.build(
      options('app.ts', { outfile: path.join(dir, 'out/app.mjs'), plugins: [plain(plugin)] }),
    );
    expect(r.errors).toEqual([]);
    expect(plugin.stats.transpiled).toBe(1);
    const mod = await import(pathToFileURL(path.join(dir, 'out/app.mjs')).href);
    expect(Object.keys(mod)).toEqual(expect.arrayContaining(['blur', 'blur_d', 'blur_b', '__parad']));
    const args = {
      out: new Float64Array(9),
      inp: Float64Array.from({ length: 9 }, (_, i) => 0.1 * i),
      gain: 0.7,
      n: 9,
    };
    expect(checkTangent(mod, 'blur', args).ok).toBe(true);
    const adj = checkAdjoint(mod, 'blur', args);
    expect(adj.ok, adj.message).toBe(true);
  });

  test('an error in a kernel is an esbuild error at its line and column; warnings are warnings', async () => {
    write({
      'bad.kernel.ts': blur('gain').replace('out[i] = Math.tanh', 'out[i] = Math.sinc'),
      'main.ts': "import { blur } from './bad.kernel.ts';\nconsole.log(blur);\n",
    });
    const err = await esbuild
      .build(options('main.ts', { outfile: path.join(dir, 'out/bad.mjs'), plugins: [plain(parad())] }))
      .catch((e: esbuild.BuildFailure) => e);
    expect(err).toBeInstanceOf(Error);
    const [e] = (err as esbuild.BuildFailure).errors;
    expect(e.pluginName).toBe('parad');
    expect(e.text).toMatch(/^PARAD\d{4}: .*Math\.sinc/);
    // esbuild's columns are 0-based (`Math` starts after 13 characters), its paths relative to absWorkingDir
    expect(e.location).toMatchObject({ file: 'bad.kernel.ts', line: 7, column: 13 });
    expect(e.location!.lineText).toContain('Math.sinc');
    // esbuild's own code frame
    const [frame] = await esbuild.formatMessages([e], { kind: 'error' });
    expect(frame).toContain('bad.kernel.ts:7:13');
    // an unknown exclusive read is a warning, the bundle still builds
    write({
      'gather.kernel.ts': gatherKernel,
      'g.ts': "export { pick_b } from './gather.kernel.ts';\n",
    });
    const w = await esbuild.build(options('g.ts', { outfile: path.join(dir, 'out/g.mjs'), plugins: [plain(parad())] }));
    expect(w.warnings.map((m) => m.text)).toEqual([
      expect.stringMatching(/^PARAD2003: reads of x may not be exclusive/),
    ]);
    expect(w.warnings[0].location).toMatchObject({ file: 'gather.kernel.ts', line: 5 });
  });

  test('rebuilding after touching one of 20 kernel files transpiles only that one; watch mode sees kernel edits', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`many/k${i}.kernel.ts`] = blur().replaceAll('blur', `blur${i}`);
    files['many/index.ts'] =
      Array.from({ length: 20 }, (_, i) => `export * from './k${i}.kernel.ts';`).join('\n') + '\n';
    write(files);
    const plugin = parad();
    let builds = 0;
    const counter: esbuild.Plugin = { name: 'count', setup: (b) => b.onEnd(() => void builds++) };
    const ctx = await esbuild.context(
      options('many/index.ts', { outfile: path.join(dir, 'out/many.mjs'), plugins: [plain(plugin), counter] }),
    );
    try {
      await ctx.rebuild();
      expect(plugin.stats.transpiled).toBe(20);
      await ctx.rebuild();
      expect(plugin.stats).toMatchObject({ transpiled: 20, cached: 20 });
      write({ 'many/k7.kernel.ts': blur('2 * gain').replaceAll('blur', 'blur7') });
      await ctx.rebuild();
      expect(plugin.stats.transpiled).toBe(21);
      expect(plugin.stats.files.at(-1)).toBe('many/k7.kernel.ts');
      // watch: an edit of a kernel file (a watchFile of the plugin's) triggers a rebuild
      await ctx.watch();
      const before = builds;
      await new Promise((r) => setTimeout(r, 300));
      write({ 'many/k3.kernel.ts': blur('3 * gain').replaceAll('blur', 'blur3') });
      for (let t = 0; t < 100 && plugin.stats.transpiled < 22; t++) await new Promise((r) => setTimeout(r, 50));
      expect(plugin.stats.transpiled).toBe(22);
      expect(plugin.stats.files.at(-1)).toBe('many/k3.kernel.ts');
      expect(builds).toBeGreaterThan(before);
    } finally {
      await ctx.dispose();
    }
  }, 30_000);

  test('a layer file importing a kernel file: one module with both, the import watched, a change to it re-transpiles the layer', async () => {
    const layer = twiceLayer;
    write({
      'ly/blur.kernel.ts': blur(),
      'ly/twice.kernel.ts': layer,
      'ly/app.ts': "export * from './twice.kernel.ts';\n",
    });
    const plugin = parad();
    const ctx = await esbuild.context(
      options('ly/app.ts', { outfile: path.join(dir, 'out/ly.mjs'), plugins: [plain(plugin)], metafile: true }),
    );
    try {
      const r = await ctx.rebuild();
      expect(r.errors).toEqual([]);
      const mod = await import(`${pathToFileURL(path.join(dir, 'out/ly.mjs')).href}?1`);
      expect(Object.keys(mod).sort()).toEqual(['__parad', 'twice', 'twice_b', 'twice_d']);
      const args = {
        out: new Float64Array(8),
        inp: Float64Array.from({ length: 8 }, (_, i) => 0.1 * i),
        tmp: new Float64Array(8),
        gain: 0.7,
        n: 8,
      };
      expect(checkAdjoint(mod, 'twice', args).ok).toBe(true);
      expect(plugin.stats.files).toEqual(['ly/twice.kernel.ts']);
      await ctx.rebuild();
      expect(plugin.stats).toMatchObject({ transpiled: 1, cached: 1 });
      // the imported kernel changes: the layer's module is transpiled again
      write({ 'ly/blur.kernel.ts': blur('2 * gain') });
      await ctx.rebuild();
      expect(plugin.stats.transpiled).toBe(2);
    } finally {
      await ctx.dispose();
    }
  });

  test('deleting the kernel a layer imports fails the build; restoring it rebuilds (watch mode and rebuild())', async () => {
    write({
      'del/blur.kernel.ts': blur(),
      'del/twice.kernel.ts': twiceLayer,
      'del/app.ts': "export * from './twice.kernel.ts';\n",
    });
    const plugin = parad();
    const ends: number[] = [];
    const counter: esbuild.Plugin = { name: 'count', setup: (b) => b.onEnd((r) => void ends.push(r.errors.length)) };
    const ctx = await esbuild.context(
      options('del/app.ts', { outfile: path.join(dir, 'out/del.mjs'), plugins: [plain(plugin), counter] }),
    );
    const waitFor = async (n: number) => {
      for (let t = 0; t < 100 && ends.length < n; t++) await new Promise((r) => setTimeout(r, 50));
      expect(ends.length).toBeGreaterThanOrEqual(n);
    };
    try {
      expect((await ctx.rebuild()).errors).toEqual([]);
      // rebuild(): the deleted import is an error, its return is seen (not answered from the cache)
      fs.rmSync(path.join(dir, 'del/blur.kernel.ts'));
      const gone = await ctx.rebuild().catch((e: esbuild.BuildFailure) => e);
      expect((gone as esbuild.BuildFailure).errors?.length).toBeGreaterThan(0);
      write({ 'del/blur.kernel.ts': blur() });
      expect((await ctx.rebuild()).errors).toEqual([]);
      expect(plugin.stats.transpiled).toBe(3);
      // watch mode: deleting the file triggers a failing build, restoring it a passing one
      await ctx.watch();
      await new Promise((r) => setTimeout(r, 300));
      const before = ends.length;
      fs.rmSync(path.join(dir, 'del/blur.kernel.ts'));
      await waitFor(before + 1);
      expect(ends.at(-1)).toBeGreaterThan(0);
      write({ 'del/blur.kernel.ts': blur('2 * gain') });
      await waitFor(before + 2);
      expect(ends.at(-1)).toBe(0);
      expect(plugin.stats.transpiled).toBe(5);
      const mod = await import(`${pathToFileURL(path.join(dir, 'out/del.mjs')).href}?restored`);
      expect(Object.keys(mod)).toContain('twice_b');
    } finally {
      await ctx.dispose();
    }
  }, 30_000);

  test('one plugin shared by two contexts that differ only in sourcemap: each gets its own output, and its cache on repeat', async () => {
    write({ 'two/blur.kernel.ts': blur(), 'two/app.ts': "export { blur_b } from './blur.kernel.ts';\n" });
    const plugin = parad();
    const mapped = await esbuild.context(
      options('two/app.ts', {
        outfile: path.join(dir, 'out/two-map.mjs'),
        sourcemap: 'inline',
        plugins: [plain(plugin)],
      }),
    );
    const bare = await esbuild.context(
      options('two/app.ts', { outfile: path.join(dir, 'out/two-bare.mjs'), plugins: [plain(plugin)] }),
    );
    try {
      for (let round = 0; round < 2; round++) {
        await mapped.rebuild();
        await bare.rebuild();
      }
      expect(plugin.stats).toMatchObject({ transpiled: 2, cached: 2 });
      const map = fs.readFileSync(path.join(dir, 'out/two-map.mjs'), 'utf8');
      expect(map).toMatch(/sourceMappingURL=data:/);
      // the inline map leads to the kernel file (through the plugin's map of the generated module)
      const json = JSON.parse(Buffer.from(map.match(/base64,(\S+)/)![1], 'base64').toString());
      expect(json.sources.some((s: string) => /two\/blur\.kernel\.ts$/.test(s))).toBe(true);
      expect(fs.readFileSync(path.join(dir, 'out/two-bare.mjs'), 'utf8')).not.toMatch(/sourceMappingURL/);
    } finally {
      await mapped.dispose();
      await bare.dispose();
    }
    // the schedule option reaches the transpiler: the parallel schedule's adjoint gathers
    const built = async (o: ParadPluginOptions, out: string) => {
      await esbuild.build(options('two/app.ts', { outfile: path.join(dir, out), plugins: [plain(parad(o))] }));
      return fs.readFileSync(path.join(dir, out), 'utf8');
    };
    expect(await built({ schedule: 'parallel' }, 'out/two-par.mjs')).not.toBe(await built({}, 'out/two-seq.mjs'));
  });

  test('source maps lead from the generated adjoint back to the kernel lines', async () => {
    write({ 'sm/blur.kernel.ts': blur(), 'sm/app.ts': "export { blur_b } from './blur.kernel.ts';\n" });
    await esbuild.build(
      options('sm/app.ts', { outfile: path.join(dir, 'out/sm.mjs'), sourcemap: 'external', plugins: [plain(parad())] }),
    );
    const out = fs.readFileSync(path.join(dir, 'out/sm.mjs'), 'utf8').split('\n');
    const map = new TraceMap(fs.readFileSync(path.join(dir, 'out/sm.mjs.map'), 'utf8'));
    // the adjoint's update of out's adjoint comes from the loop body's statement (kernel line 7)
    const line = out.findIndex((l) => /Math\.tanh/.test(l) && /_t\d/.test(l));
    expect(line).toBeGreaterThan(0);
    const pos = originalPositionFor(map, { line: line + 1, column: out[line].search(/\S/) });
    expect(pos.source).toMatch(/sm\/blur\.kernel\.ts$/);
    expect(pos.line).toBe(7);
  });

  test('the code of a kernel a layer imports maps to its own file; its race is an error in that file, the import a note', async () => {
    write({
      'smi/blur.kernel.ts': blur(),
      'smi/twice.kernel.ts': twiceLayer,
      'smi/app.ts': "export { twice_b } from './twice.kernel.ts';\n",
    });
    await esbuild.build(
      options('smi/app.ts', {
        outfile: path.join(dir, 'out/smi.mjs'),
        sourcemap: 'external',
        plugins: [plain(parad())],
      }),
    );
    const out = fs.readFileSync(path.join(dir, 'out/smi.mjs'), 'utf8').split('\n');
    const map = new TraceMap(fs.readFileSync(path.join(dir, 'out/smi.mjs.map'), 'utf8'));
    // blur_b, module-local in twice's module: its statement from blur's loop body (blur.kernel.ts line 7)
    const start = out.findIndex((l) => /^function blur_b\(/.test(l));
    const line = out.findIndex((l, i) => i > start && /Math\.tanh/.test(l) && /_t\d/.test(l));
    expect(start).toBeGreaterThan(0);
    expect(line).toBeGreaterThan(start);
    const pos = originalPositionFor(map, { line: line + 1, column: out[line].search(/\S/) });
    expect(pos.source).toMatch(/smi\/blur\.kernel\.ts$/);
    expect(pos.line).toBe(7);
    // the imported file's text is in the map too; twice_b's own lines map to twice.kernel.ts
    expect(map.sourcesContent?.[map.sources.findIndex((x) => /blur\.kernel\.ts$/.test(x ?? ''))]).toContain(
      'Math.tanh',
    );
    const call = out.findIndex((l) => /^function twice_b\(/.test(l));
    const own = originalPositionFor(map, { line: call + 1, column: 0 });
    expect(own.source).toMatch(/smi\/twice\.kernel\.ts$/);
    // a race in the imported kernel: an esbuild error in blur.kernel.ts, with the import as a note
    write({ 'smi/blur.kernel.ts': blur().replace('out[i] = Math.tanh', 'out[0] = Math.tanh') });
    const err = await esbuild
      .build(options('smi/app.ts', { outfile: path.join(dir, 'out/smi2.mjs'), plugins: [plain(parad())] }))
      .catch((e: esbuild.BuildFailure) => e);
    const [e] = (err as esbuild.BuildFailure).errors;
    expect(e.text).toMatch(/^PARAD2001: this @parallel loop of 'blur' is not parallel/);
    expect(e.location).toMatchObject({ file: 'smi/blur.kernel.ts', line: 6, column: 2 });
    // (esbuild adds a note of its own: the import that triggered the plugin)
    expect(e.notes[0]).toMatchObject({
      text: 'imported here',
      location: { file: 'smi/twice.kernel.ts', line: 2, column: 9 },
    });
  });

  test('the generated declarations type an app that imports ./x.kernel.ad.js (tsc --noEmit), and catch misuse', async () => {
    write({
      'typed/blur.kernel.ts': blur(),
      'typed/app.ts': `import { blur, blur_b } from './blur.kernel.ad.js';
const n = 8, out = new Float64Array(n), inp = new Float64Array(n).fill(0.5);
const { gainb }: { gainb: number } = blur_b(out, new Float64Array(n).fill(1), inp, new Float64Array(n), 0.7, n);
blur(out, inp, 0.7, n);
export const result: number = gainb;
`,
      'typed/tsconfig.json': JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          module: 'esnext',
          moduleResolution: 'bundler',
          skipLibCheck: true,
          allowImportingTsExtensions: true,
          paths: { parad: [path.join(root, 'runtime/index.ts')] },
        },
        files: ['app.ts'],
      }),
    });
    const r = await esbuild.build(
      options('typed/app.ts', { outfile: path.join(dir, 'out/typed.mjs'), plugins: [plain(parad())] }),
    );
    expect(r.errors).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'typed/blur.kernel.ad.d.ts'))).toBe(true);
    const mod = await import(pathToFileURL(path.join(dir, 'out/typed.mjs')).href);
    expect(Number.isFinite(mod.result)).toBe(true);
    const tsc = (project: string) =>
      spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', project], {
        encoding: 'utf8',
      });
    const ok = tsc(path.join(dir, 'typed/tsconfig.json'));
    expect(ok.stdout + ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    // a wrong call is a type error: blur_b wants the adjoint partner after each active array
    fs.writeFileSync(
      path.join(dir, 'typed/app.ts'),
      "import { blur_b } from './blur.kernel.ad.js';\nblur_b(new Float64Array(1), new Float64Array(1), 0.7, 1);\n",
    );
    const bad = tsc(path.join(dir, 'typed/tsconfig.json'));
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/app\.ts\(2,\d+\): error TS2554/);
  });
});
