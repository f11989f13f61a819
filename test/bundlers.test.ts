/**
 * The unplugin-based plugins (plugin/unplugin.ts): parad/rollup, parad/webpack, parad/rspack and
 * parad/bun bundle a small kernel module that runs in Node with the right derivatives (FD and
 * dot-product tests); diagnostics are each tool's located errors and warnings; the watch modes of
 * Rollup, webpack and Rspack and Vite's dev server (HMR) transpile the layer that imports an edited
 * kernel again; the cache answers unchanged kernels. (The Vite build of the browser example runs in Chromium in
 * test/deblur.e2e.test.ts.)
 *
 * The bundles import `parad` (the runtime) from a `node_modules/parad` link to this package.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rollup, watch as rollupWatch, type RollupError, type RollupLog } from 'rollup';
import webpack from 'webpack';
import { rspack } from '@rspack/core';
import { createServer } from 'vite';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { parad as rollupParad } from '../plugin/rollup.js';
import { parad as webpackParad } from '../plugin/webpack.js';
import { parad as rspackParad } from '../plugin/rspack.js';
import { parad as viteParad } from '../plugin/vite.js';
import type { ParadPluginOptions } from '../plugin/core.js';
import { checkAdjoint, checkTangent, type DerivativeModule } from '../testing/index.js';
import { blurKernel, gatherKernel, twiceLayer, writeFiles } from './support/kernel-files.js';

const root = path.resolve(import.meta.dirname, '..');
const BUN = path.join(root, 'node_modules/.bin/bun');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-bundlers-'));
  // `import … from 'parad'` in the generated modules (and parad/bun in the Bun build script)
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules/parad'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (files: Record<string, string>) => writeFiles(dir, files);

/** Plugin options counting what is transpiled and what the cache answers. */
function counting(extra: ParadPluginOptions = {}) {
  const stats = { transpiled: 0, cached: 0, files: [] as string[] };
  const options: ParadPluginOptions = {
    ...extra,
    onKernel: (e) => {
      if (!e.transpiled) return void stats.cached++;
      stats.transpiled++;
      stats.files.push(e.file);
    },
  };
  return { stats, options };
}

/** The blur module's derivatives pass the FD and dot-product tests. */
function expectBlurDerivatives(mod: DerivativeModule) {
  expect(Object.keys(mod)).toEqual(expect.arrayContaining(['blur', 'blur_d', 'blur_b', '__parad']));
  const args = { out: new Float64Array(9), inp: Float64Array.from({ length: 9 }, (_, i) => 0.1 * i), gain: 0.7, n: 9 };
  expect(checkTangent(mod, 'blur', args).ok).toBe(true);
  const adj = checkAdjoint(mod, 'blur', args);
  expect(adj.ok, adj.message).toBe(true);
}

/** `twice` run once: its output (the layer's value for a fixed input). */
function runTwice(mod: Record<string, unknown>): number[] {
  const n = 8,
    out = new Float64Array(n);
  (mod.twice as (...a: unknown[]) => void)(
    out,
    Float64Array.from({ length: n }, (_, i) => 0.1 * i),
    new Float64Array(n),
    0.7,
    n,
  );
  return [...out];
}

describe('parad/rollup', () => {
  test('a Rollup bundle of a kernel module runs its derivatives; ./x.kernel.ad.js resolves to the kernel; the source map leads to kernel lines', async () => {
    write({
      'r/k/blur.kernel.ts': blurKernel(),
      'r/app.js': "export * from './k/blur.kernel.ts';\nexport { blur_b as viaAd } from './k/blur.kernel.ad.js';\n",
    });
    const { stats, options } = counting();
    const bundle = await rollup({
      input: path.join(dir, 'r/app.js'),
      plugins: [rollupParad(options)],
      external: ['parad'],
    });
    await bundle.write({ file: path.join(dir, 'out/rollup.mjs'), format: 'esm', sourcemap: true });
    await bundle.close();
    // one transpile serves both imports
    expect(stats).toMatchObject({ transpiled: 1, cached: 0 });
    const mod = await import(pathToFileURL(path.join(dir, 'out/rollup.mjs')).href);
    expectBlurDerivatives(mod);
    expect(mod.viaAd).toBe(mod.blur_b);
    // the adjoint's update (a line with Math.tanh and a temporary) comes from the loop body, kernel line 7
    const out = fs.readFileSync(path.join(dir, 'out/rollup.mjs'), 'utf8').split('\n');
    const map = new TraceMap(fs.readFileSync(path.join(dir, 'out/rollup.mjs.map'), 'utf8'));
    const adjoint = out.findIndex((l) => l.startsWith('function blur_b('));
    const line = out.findIndex((l, i) => i > adjoint && /Math\.tanh/.test(l) && /_t\d/.test(l));
    expect(adjoint).toBeGreaterThan(0);
    expect(line).toBeGreaterThan(adjoint);
    const pos = originalPositionFor(map, { line: line + 1, column: out[line].search(/\S/) });
    expect(pos.source).toMatch(/r\/k\/blur\.kernel\.ts$/);
    expect(pos.line).toBe(7);
    // the declarations beside the kernel, as with parad/esbuild
    expect(fs.readFileSync(path.join(dir, 'r/k/blur.kernel.ad.d.ts'), 'utf8')).toMatch(
      /export declare function blur_b\(/,
    );
  });

  test('the code of a kernel a layer imports maps to its own file through the JavaScript map; a race in it is a Rollup error in that file', async () => {
    write({
      'ri/blur.kernel.ts': blurKernel(),
      'ri/twice.kernel.ts': twiceLayer,
      'ri/app.js': "export { twice_b } from './twice.kernel.ts';\n",
    });
    const bundle = await rollup({ input: path.join(dir, 'ri/app.js'), plugins: [rollupParad()], external: ['parad'] });
    await bundle.write({ file: path.join(dir, 'out/rollup-import.mjs'), format: 'esm', sourcemap: true });
    await bundle.close();
    const out = fs.readFileSync(path.join(dir, 'out/rollup-import.mjs'), 'utf8').split('\n');
    const map = new TraceMap(fs.readFileSync(path.join(dir, 'out/rollup-import.mjs.map'), 'utf8'));
    const adjoint = out.findIndex((l) => l.startsWith('function blur_b('));
    const line = out.findIndex((l, i) => i > adjoint && /Math\.tanh/.test(l) && /_t\d/.test(l));
    expect(adjoint).toBeGreaterThan(0);
    expect(line).toBeGreaterThan(adjoint);
    const pos = originalPositionFor(map, { line: line + 1, column: out[line].search(/\S/) });
    expect(pos.source).toMatch(/ri\/blur\.kernel\.ts$/);
    expect(pos.line).toBe(7);
    write({ 'ri/blur.kernel.ts': blurKernel().replace('out[i] = Math.tanh', 'out[0] = Math.tanh') });
    const err = await rollup({
      input: path.join(dir, 'ri/app.js'),
      plugins: [rollupParad()],
      external: ['parad'],
    }).catch((e: RollupError) => e);
    expect((err as RollupError).pluginCode).toBe('PARAD2001');
    expect((err as RollupError).loc).toMatchObject({ file: path.join(dir, 'ri/blur.kernel.ts'), line: 6 });
    expect((err as RollupError).frame).toContain('ri/twice.kernel.ts:2:10 - note: imported here');
  });

  test('an error is a Rollup error with loc, frame and pluginCode; a warning is a Rollup warning at its line', async () => {
    write({
      'r/bad.kernel.ts': blurKernel().replace('Math.tanh', 'Math.sinc'),
      'r/bad.js': "export * from './bad.kernel.ts';\n",
    });
    const err = (await rollup({
      input: path.join(dir, 'r/bad.js'),
      plugins: [rollupParad()],
      external: ['parad'],
      onLog: () => {},
    }).catch((e: RollupError) => e)) as RollupError;
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      plugin: 'parad',
      code: 'PLUGIN_ERROR',
      hook: 'load',
      id: path.join(dir, 'r/bad.kernel.ts'),
    });
    expect(err.pluginCode).toMatch(/^PARAD\d{4}$/);
    expect(err.message).toMatch(/Math\.sinc/);
    // Rollup's columns are 0-based: `Math` starts after 13 characters
    expect(err.loc).toEqual({ file: path.join(dir, 'r/bad.kernel.ts'), line: 7, column: 13 });
    expect(err.frame).toMatch(/> 7 \|.*Math\.sinc.*\n\s+\|\s{14}\^/);
    // an unknown exclusive read: a warning, and the bundle still builds
    write({ 'r/gather.kernel.ts': gatherKernel, 'r/g.js': "export { pick_b } from './gather.kernel.ts';\n" });
    const logs: RollupLog[] = [];
    const ok = await rollup({
      input: path.join(dir, 'r/g.js'),
      plugins: [rollupParad()],
      external: ['parad'],
      onLog: (level, log) => void (level === 'warn' && logs.push(log)),
    });
    await ok.generate({ format: 'esm' });
    expect(logs.map((l) => [l.plugin, l.pluginCode, l.loc?.line])).toEqual([['parad', 'PARAD2003', 5]]);
    expect(logs[0].message).toMatch(/reads of x may not be exclusive/);
  });

  test('watch mode: an edited kernel file is rebuilt; editing the kernel a layer imports transpiles the layer again', async () => {
    write({
      'w/blur.kernel.ts': blurKernel(),
      'w/twice.kernel.ts': twiceLayer,
      'w/app.js': "export * from './twice.kernel.ts';\nexport * as blurModule from './blur.kernel.ts';\n",
    });
    const { stats, options } = counting();
    // parad/rollup names files relative to the working directory
    const rel = (f: string) => path.relative(process.cwd(), path.join(dir, f)).split(path.sep).join('/');
    const outFile = path.join(dir, 'out/watch.mjs');
    const watcher = rollupWatch({
      input: path.join(dir, 'w/app.js'),
      plugins: [rollupParad(options)],
      external: ['parad'],
      output: { file: outFile, format: 'esm' },
      watch: { buildDelay: 50 },
    });
    // each build that ended, with how many transpiles had happened then
    const builds: number[] = [];
    const failures: unknown[] = [];
    watcher.on('event', (e) => {
      if (e.code === 'BUNDLE_END') void e.result.close().then(() => builds.push(stats.files.length));
      if (e.code === 'ERROR') failures.push(e.error);
    });
    /** The bundle once a build that transpiled `n` times in all has ended. */
    const built = async (n: number) => {
      for (let t = 0; t < 200 && !builds.some((b) => b >= n) && !failures.length; t++)
        await new Promise((r) => setTimeout(r, 50));
      expect(failures).toEqual([]);
      expect(builds.some((b) => b >= n)).toBe(true);
      return import(`${pathToFileURL(outFile).href}?${n}`);
    };
    try {
      const first = runTwice(await built(2));
      expect(stats).toMatchObject({ transpiled: 2 });
      // the layer's own file: only it is transpiled again
      await new Promise((r) => setTimeout(r, 300));
      write({
        'w/twice.kernel.ts': twiceLayer.replace(
          'blur(out, tmp, gain, n);',
          'blur(out, tmp, gain, n);\n  blur(tmp, out, gain, n);',
        ),
      });
      await built(3);
      expect(stats.files.slice(2)).toEqual([rel('w/twice.kernel.ts')]);
      expect(stats.cached).toBe(1);
      // the kernel the layer imports: both are transpiled again, and the layer computes the new kernel
      write({ 'w/blur.kernel.ts': blurKernel('2 * gain') });
      const mod = await built(5);
      expect(stats.files.slice(3).sort()).toEqual([rel('w/blur.kernel.ts'), rel('w/twice.kernel.ts')]);
      const second = runTwice(mod);
      expect(second).not.toEqual(first);
      expectBlurDerivatives(mod.blurModule);
    } finally {
      await watcher.close();
    }
  }, 30_000);

  test('watch mode: deleting the kernel a layer imports fails the build, restoring it rebuilds', async () => {
    write({
      'wd/blur.kernel.ts': blurKernel(),
      'wd/twice.kernel.ts': twiceLayer,
      'wd/app.js': "export * from './twice.kernel.ts';\n",
    });
    const { stats, options } = counting();
    const outFile = path.join(dir, 'out/watch-del.mjs');
    const watcher = rollupWatch({
      input: path.join(dir, 'wd/app.js'),
      plugins: [rollupParad(options)],
      external: ['parad'],
      output: { file: outFile, format: 'esm' },
      watch: { buildDelay: 50 },
    });
    const events: string[] = [];
    watcher.on('event', (e) => {
      if (e.code === 'BUNDLE_END') void e.result.close().then(() => events.push('ok'));
      if (e.code === 'ERROR') events.push('error');
    });
    const next = async (n: number) => {
      for (let t = 0; t < 200 && events.length < n; t++) await new Promise((r) => setTimeout(r, 50));
      expect(events.length).toBeGreaterThanOrEqual(n);
      return events[n - 1];
    };
    try {
      expect(await next(1)).toBe('ok');
      await new Promise((r) => setTimeout(r, 300));
      fs.rmSync(path.join(dir, 'wd/blur.kernel.ts'));
      expect(await next(2)).toBe('error');
      await new Promise((r) => setTimeout(r, 300));
      write({ 'wd/blur.kernel.ts': blurKernel('2 * gain') });
      expect(await next(3)).toBe('ok');
      expect(stats.transpiled).toBe(3);
      expect(Object.keys(await import(`${pathToFileURL(outFile).href}?restored`))).toContain('twice_b');
    } finally {
      await watcher.close();
    }
  }, 30_000);
});

describe.each([
  ['webpack', webpackParad, (c: webpack.Configuration) => webpack(c)],
  ['rspack', rspackParad, (c: webpack.Configuration) => rspack(c as Parameters<typeof rspack>[0])],
] as const)('parad/%s', (tool, plugin, make) => {
  /** A Node bundle (CommonJS) of `entry`, with the compiler kept for a second run. */
  const compiler = (entry: string, options: ParadPluginOptions = {}) =>
    make({
      mode: 'none',
      context: dir,
      entry: `./${entry}`,
      target: 'node',
      devtool: false,
      output: {
        path: path.join(dir, 'out'),
        filename: `${tool}-${path.basename(entry, '.js')}.cjs`,
        library: { type: 'commonjs2' },
      },
      externals: { parad: 'commonjs parad' },
      plugins: [plugin(options) as webpack.WebpackPluginInstance],
    })!;
  type Stats = {
    hasErrors(): boolean;
    compilation: { errors: { message: string }[]; warnings: { message: string }[] };
  };
  const run = (c: ReturnType<typeof compiler>) =>
    new Promise<Stats>((resolve, reject) =>
      c.run((err, stats) => (err ? reject(err) : resolve(stats as unknown as Stats))),
    );

  test(`a ${tool} bundle of a kernel module runs its derivatives; the next run transpiles an edited kernel again`, async () => {
    write({
      [`${tool}/k/blur.kernel.ts`]: blurKernel(),
      [`${tool}/app.js`]:
        "export * from './k/blur.kernel.ts';\nexport { blur_b as viaAd } from './k/blur.kernel.ad.js';\n",
    });
    const { stats, options } = counting();
    const c = compiler(`${tool}/app.js`, options);
    const s = await run(c);
    expect(s.compilation.errors.map((e) => e.message)).toEqual([]);
    expect(stats).toMatchObject({ transpiled: 1 });
    const mod = createRequire(import.meta.url)(path.join(dir, `out/${tool}-app.cjs`));
    expectBlurDerivatives(mod);
    expect(mod.viaAd).toBe(mod.blur_b);
    // the kernel edited: the next run of the same compiler transpiles it again
    write({ [`${tool}/k/blur.kernel.ts`]: blurKernel('2 * gain') });
    await run(c);
    expect(stats.transpiled).toBe(2);
    await new Promise<void>((r) => c.close(() => r()));
  });

  test(`${tool} --watch: editing the kernel a layer imports transpiles the layer again`, async () => {
    write({
      [`${tool}w/blur.kernel.ts`]: blurKernel(),
      [`${tool}w/twice.kernel.ts`]: twiceLayer,
      [`${tool}w/watched.js`]: "export * from './twice.kernel.ts';\n",
    });
    const { stats, options } = counting();
    const c = compiler(`${tool}w/watched.js`, options);
    const out = path.join(dir, `out/${tool}-watched.cjs`);
    const require = createRequire(import.meta.url);
    // each build, with how many transpiles had happened when it ended (webpack may also rebuild once
    // on its own at start, for files written just before the watcher's first scan)
    const results: { stats: Stats; transpiled: number }[] = [];
    const failures: unknown[] = [];
    const watching = c.watch(
      { aggregateTimeout: 50 },
      (err, s) =>
        void (err
          ? failures.push(err)
          : results.push({ stats: s as unknown as Stats, transpiled: stats.files.length })),
    );
    /** The layer's output once a build that transpiled `n` times in all has ended. */
    const built = async (n: number) => {
      const done = () => results.find((r) => r.transpiled >= n);
      for (let t = 0; t < 200 && !done() && !failures.length; t++) await new Promise((r) => setTimeout(r, 50));
      expect(failures).toEqual([]);
      expect(done()?.stats.compilation.errors.map((e) => e.message)).toEqual([]);
      delete require.cache[out];
      return runTwice(require(out));
    };
    try {
      const first = await built(1);
      expect(stats.files).toEqual([`${tool}w/twice.kernel.ts`]);
      await new Promise((r) => setTimeout(r, 300));
      write({ [`${tool}w/blur.kernel.ts`]: blurKernel('2 * gain') });
      const second = await built(2);
      expect(stats.files).toEqual([`${tool}w/twice.kernel.ts`, `${tool}w/twice.kernel.ts`]);
      expect(second).not.toEqual(first);
    } finally {
      await new Promise<void>((r) => (watching ? watching.close(() => r()) : r()));
    }
  }, 30_000);

  test(`an error fails the ${tool} build with the located diagnostic and its code frame; a warning is a module warning`, async () => {
    write({
      [`${tool}/bad.kernel.ts`]: blurKernel().replace('Math.tanh', 'Math.sinc'),
      [`${tool}/bad.js`]: "export * from './bad.kernel.ts';\n",
    });
    const s = await run(compiler(`${tool}/bad.js`));
    expect(s.hasErrors()).toBe(true);
    const [e] = s.compilation.errors;
    expect(e.message).toMatch(new RegExp(`${tool}/bad\\.kernel\\.ts:7:14 - error PARAD\\d{4}: .*Math\\.sinc`));
    expect(e.message).toMatch(/> 7 \|.*Math\.sinc/);
    write({
      [`${tool}/gather.kernel.ts`]: gatherKernel,
      [`${tool}/g.js`]: "export { pick_b } from './gather.kernel.ts';\n",
    });
    const w = await run(compiler(`${tool}/g.js`));
    expect(w.hasErrors()).toBe(false);
    expect(w.compilation.warnings.map((x) => x.message).join('\n')).toMatch(
      new RegExp(`${tool}/gather\\.kernel\\.ts:5:\\d+ - warning PARAD2003: reads of x may not be exclusive`),
    );
  });
});

describe('parad/vite', () => {
  test("the dev server serves the generated module; editing the kernel a layer imports invalidates the layer's module (HMR) and transpiles it again; an error is located", async () => {
    write({
      'v/blur.kernel.ts': blurKernel(),
      'v/twice.kernel.ts': twiceLayer,
      'v/app.ts': "export * from './twice.kernel.ts';\n",
    });
    const { stats, options } = counting();
    const server = await createServer({
      root: path.join(dir, 'v'),
      configFile: false,
      logLevel: 'silent',
      server: { port: 0, ws: false },
      optimizeDeps: { noDiscovery: true },
      plugins: [viteParad(options)],
    });
    try {
      const env = server.environments.client;
      const first = await env.transformRequest('/twice.kernel.ts');
      expect(first!.code).toMatch(/export function twice_b\(/);
      expect(stats.files).toEqual(['twice.kernel.ts']);
      // the kernel file the layer imports is in Vite's module graph as an import of the layer's module
      const layer = env.moduleGraph.getModuleById(path.join(dir, 'v/twice.kernel.ts'))!;
      expect([...layer.importedModules].map((m) => m.file)).toContain(path.join(dir, 'v/blur.kernel.ts'));
      await new Promise((r) => setTimeout(r, 300));
      write({ 'v/blur.kernel.ts': blurKernel('2 * gain') });
      // Vite's watcher sees the edit and invalidates the layer's module (what HMR then updates)
      for (let t = 0; t < 100 && layer.transformResult; t++) await new Promise((r) => setTimeout(r, 50));
      expect(layer.transformResult).toBeNull();
      const second = await env.transformRequest('/twice.kernel.ts');
      expect(second!.code).toMatch(/2 \* gain/);
      expect(stats.files).toEqual(['twice.kernel.ts', 'twice.kernel.ts']);
      // an error: what Vite's overlay shows (plugin, file, line and 0-based column, code frame)
      write({ 'v/bad.kernel.ts': blurKernel().replace('Math.tanh', 'Math.sinc') });
      const err = (await env.transformRequest('/bad.kernel.ts').catch((e: unknown) => e)) as RollupError;
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({
        plugin: 'parad',
        id: path.join(dir, 'v/bad.kernel.ts'),
        loc: { file: path.join(dir, 'v/bad.kernel.ts'), line: 7, column: 13 },
      });
      expect(err.message).toMatch(/PARAD\d{4}: .*Math\.sinc/);
      expect(err.frame).toMatch(/> 7 \|.*Math\.sinc/);
    } finally {
      await server.close();
    }
  }, 30_000);
});

const bunAvailable = fs.existsSync(BUN) && spawnSync(BUN, ['--version']).status === 0;
// bun is a devDependency (npm's `bun` package ships the binary): under CI its test must run
if (process.env.CI && !bunAvailable)
  throw new Error(`no runnable Bun at ${BUN} (npm ci installs it): the parad/bun test must run in CI`);

describe.skipIf(!bunAvailable)('parad/bun', () => {
  test('Bun.build with parad/bun bundles a kernel module that runs its derivatives in Node; an error fails the build at its line', async () => {
    write({
      'b/k/blur.kernel.ts': blurKernel(),
      'b/app.ts': "export * from './k/blur.kernel.ts';\n",
      'b/bad.kernel.ts': blurKernel().replace('Math.tanh', 'Math.sinc'),
      'b/bad.ts': "export * from './bad.kernel.ts';\n",
      'b/build.ts': `import { parad } from 'parad/bun';
const r = await Bun.build({ entrypoints: [process.argv[2]], outdir: process.argv[3], target: 'node', format: 'esm', external: ['parad'], plugins: [parad()], throw: false });
if (!r.success) { console.error(r.logs.map(String).join('\\n')); process.exit(1); }
`,
    });
    const bun = (entry: string) =>
      spawnSync(BUN, [path.join(dir, 'b/build.ts'), path.join(dir, 'b', entry), path.join(dir, 'out/bun')], {
        cwd: dir,
        encoding: 'utf8',
      });
    const ok = bun('app.ts');
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expectBlurDerivatives(await import(pathToFileURL(path.join(dir, 'out/bun/app.js')).href));
    const bad = bun('bad.ts');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/b\/bad\.kernel\.ts:7:14 - error PARAD\d{4}: .*Math\.sinc/);
  }, 60_000);
});
