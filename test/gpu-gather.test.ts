/**
 * Issue 13: on WebGPU, never a CAS loop where a gather, a reduction or a direct write is correct.
 * The natural formulations of fixtures/gpu-gather (and the quasi fixture's transposed conv) must
 * get a gather, a reduction or direct updates for every read on the wgsl target, and the gathers
 * run in JavaScript (forced, f64) must apply and pass the dot-product test at every spec's sizes. fixtures.test.ts checks goldens, FD and dot tests of the
 * sequential schedule; wgsl.test.ts runs them on WebGPU.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compile } from '../transformer/index.js';
import { checkAdjoint } from '../testing/index.js';
import { loadGenerated } from './support/load.js';
import { specs } from '../fixtures/specs.js';
import { argsFor } from './support/fixture-args.js';
import { to32 } from './support/fixtures32.js';

const root = path.resolve(import.meta.dirname, '..');
const CASES: { file: string; kernel: string }[] = [
  ...[...new Set(specs.filter((s) => s.file === 'gpu-gather').map((s) => s.kernel))].map((kernel) => ({
    file: 'gpu-gather',
    kernel,
  })),
  { file: 'quasi', kernel: 'convTranspose' },
];

describe.each(CASES)('$file/$kernel', ({ file, kernel }) => {
  const source = fs.readFileSync(path.join(root, `fixtures/${file}/${file}.ts`), 'utf8');

  test('the WebGPU schedule has no atomic updates', async () => {
    const r = await compile(to32(source), { fileName: `${file}.ts`, targets: ['ts', 'wgsl'], modes: ['b'] });
    const k = r.analysis.kernels.find((x) => x.name === kernel)!;
    const reads = k.loops.flatMap((l) => l.reads);
    expect(reads.length).toBeGreaterThan(0);
    for (const x of reads)
      expect(x.targets!.wgsl!.strategy, `${x.name}: ${x.targets!.wgsl!.reason}`).not.toBe('atomic');
  });

  test("the gathers (the GPU's schedule, in JavaScript) pass the dot-product test", async () => {
    const r = await compile(source, { fileName: `${file}.ts`, format: 'js', strategy: 'gather' });
    const mod = loadGenerated(r.code!);
    const k = r.analysis.kernels.find((x) => x.name === kernel)!;
    for (const x of k.loops.flatMap((l) => l.reads))
      expect(x.targets!.ts!.strategy, `${x.name}: ${x.targets!.ts!.reason}`).toBe('gather');
    const meta = mod.__parad.kernels[kernel];
    for (const spec of specs.filter((s) => s.file === file && s.kernel === kernel)) {
      const a = checkAdjoint(mod, kernel, argsFor(spec, meta.params), { seed: 5 });
      expect(a.ok, JSON.stringify(a)).toBe(true);
    }
  });
});

/**
 * What an iteration of the adjoint pushes and pops itself (maxPool3s2's running maximum `m`, once
 * per window position): a fixed number of values per iteration stays in the invocation's private
 * memory (a `var` array), not in a region of a device buffer the host allocates and clears; a
 * number known only at run time (minPool1d's window K) keeps the region.
 */
test('a constant per-iteration tape is a private array; a run-time one a device region', async () => {
  const source = to32(fs.readFileSync(path.join(root, 'fixtures/gpu-gather/gpu-gather.ts'), 'utf8'));
  const r = await compile(source, { fileName: 'gpu-gather.ts', targets: ['ts', 'wgsl'], modes: ['b'] });
  const pass0 = (fn: string) => r.shaders!.find((s) => s.fn === fn && s.pass === 0)!.code;
  const max = pass0('maxPool3s2_b');
  expect(max).toMatch(/var _tpp1: array<f32, 9>;/);
  expect(max).not.toMatch(/_tr\b|_tpk/);
  // the host functions: maxPool3s2_b's allocates no region, minPool1d_b's does
  const host = (fn: string) => r.code!.slice(r.code!.indexOf(`function ${fn}_gpu(`)).split('\n}\n')[0];
  expect(host('maxPool3s2_b')).toContain('.dispatch(');
  expect(host('maxPool3s2_b')).not.toContain('alloc("_tr"');
  expect(host('minPool1d_b')).toContain('alloc("_tr"');
  const min = pass0('minPool1d_b');
  expect(min).toMatch(/var<storage, read_write> _tr: array<f32>;/);
  expect(min).not.toMatch(/_tpp/);
});

test('the private tape holds up to 64 values per iteration; more go to the device region', async () => {
  const runningMax = (window: number) => `import type { i32 } from 'parad';
/** @kernel */
export function runmax(out: Float32Array, x: Float32Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    let m = x[i];
    for (let k = 1; k <= ${window}; k++) m = Math.max(m, x[i + k]);
    out[i] = m;
  }
}
`;
  const pass0 = async (window: number) => {
    const r = await compile(runningMax(window), { fileName: 'runmax.ts', targets: ['ts', 'wgsl'], modes: ['b'] });
    return r.shaders!.find((s) => s.fn === 'runmax_b' && s.pass === 0)!.code;
  };
  expect(await pass0(64)).toMatch(/var _tpp1: array<f32, 64>;/);
  const over = await pass0(65);
  expect(over).toMatch(/var<storage, read_write> _tr: array<f32>;/);
  expect(over).not.toMatch(/_tpp/);
});

/**
 * Running maxima and minima (maxPool3s2, minPool1d): their adjoint routes each output's seed to the
 * first extremum of its window (Math.max(m, x) passes it to m when m >= x). On WebGPU the gather
 * reads contributions the first pass staged per (output, window position), so ties are resolved
 * by the same code as the sequential JavaScript adjoint. Inputs with many ties (a few distinct
 * small integers, exact in f32): the gathers in JavaScript against the sequential K_b, and on
 * WebGPU (dawn.node over SwiftShader, a child process as in wgsl.test.ts) against JavaScript with
 * every strategy, plus the dot-product test on the GPU.
 */
describe('running extrema with ties', () => {
  const source = fs.readFileSync(path.join(root, 'fixtures/gpu-gather/gpu-gather.ts'), 'utf8');
  const TIES: { kernel: string; tag: string; args: Record<string, number>; values: (i: number) => number }[] = [
    {
      kernel: 'maxPool3s2',
      tag: 'ties',
      args: { out: 24, inp: 126, H: 7, W: 9, C: 2, OH: 3, OW: 4 },
      values: (i: number) => (i * 7) % 3,
    },
    {
      kernel: 'maxPool3s2',
      tag: 'constant',
      args: { out: 2 * 3 * 3, inp: 2 * 7 * 8, H: 7, W: 8, C: 2, OH: 3, OW: 3 },
      values: () => 1,
    },
    { kernel: 'minPool1d', tag: 'ties', args: { out: 7, x: 17, n: 7, K: 5, s: 2 }, values: (i: number) => (i * 5) % 2 },
    { kernel: 'maxPoolBranch1d', tag: 'ties', args: { out: 7, x: 16, n: 7, K: 3 }, values: (i: number) => (i * 5) % 3 },
  ];
  const ARRAYS = new Set(['out', 'inp', 'x']);
  const argsOf = (t: (typeof TIES)[number]) =>
    Object.fromEntries(
      Object.entries(t.args).map(([k, n]) => [
        k,
        ARRAYS.has(k) ? Float64Array.from({ length: n }, (_, i) => (k === 'out' ? 0 : t.values(i))) : n,
      ]),
    ) as Record<string, Float64Array | number>;
  // the maxPool windows must fit the rows (W >= 2·OW + 1) for the gather's run-time check to take it
  for (const t of TIES) {
    const { W, OW } = t.args;
    if (t.kernel === 'maxPool3s2') expect(W).toBeGreaterThanOrEqual(2 * OW + 1);
  }

  test('the inputs tie: some window has its maximum twice', () => {
    const a = argsOf(TIES[0]);
    const inp = a.inp as Float64Array;
    const { W, C, OH, OW } = TIES[0].args;
    let tied = 0;
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let c = 0; c < C; c++) {
          const win: number[] = [];
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) win.push(inp[((2 * oy + ky) * W + 2 * ox + kx) * C + c]);
          if (win.filter((x) => x === Math.max(...win)).length > 1) tied++;
        }
    expect(tied).toBeGreaterThan(OH * OW * C * 0.5);
  });

  test('the gathers in JavaScript give the sequential adjoint, tie for tie', async () => {
    const seq = loadGenerated((await compile(source, { fileName: 'gpu-gather.ts', format: 'js' })).code!);
    const gat = loadGenerated(
      (await compile(source, { fileName: 'gpu-gather.ts', format: 'js', strategy: 'gather', schedule: 'parallel' }))
        .code!,
    );
    for (const t of TIES) {
      const meta = seq.__parad.kernels[t.kernel];
      const run = (mod: typeof seq) => {
        const a = argsOf(t);
        const out = a.out as Float64Array;
        const seed = Float64Array.from(out, (_, i) => Math.sin(i + 1));
        const inName = meta.params[1].name;
        const inb = new Float64Array((a[inName] as Float64Array).length);
        const list = meta.params.flatMap((p) =>
          p.name === 'out' ? [a.out, seed] : p.name === inName ? [a[inName], inb] : [a[p.name]],
        );
        (mod[`${t.kernel}_b`] as (...x: unknown[]) => void)(...list);
        return inb;
      };
      const want = run(seq);
      const got = run(gat);
      // the seeds go to one element per window: the sums agree to rounding
      for (let i = 0; i < want.length; i++) expect(got[i], `${t.kernel} (${t.tag}) [${i}]`).toBeCloseTo(want[i], 12);
      // and to the first maximum: with all inputs equal, each window's first element gets its seed
      if (t.tag === 'constant') expect(want.filter((x) => x !== 0).length).toBe(t.args.out);
    }
  });

  describe('on WebGPU', () => {
    let report: {
      canRun: boolean;
      fixtures: Record<
        string,
        {
          failure?: string;
          adjoints: {
            fn: string;
            tag: string | null;
            strategy: string | null;
            failure?: string;
            errors: Record<string, number>;
            dot?: { rel: number };
          }[];
        }
      >;
    };
    beforeAll(async () => {
      const r = await compile(to32(source), { fileName: 'gpu-gather.ts', targets: ['ts', 'wgsl'] });
      const inputs = TIES.map((t) => {
        const meta = r.kernels.find((k) => k.name === t.kernel)!;
        const a = argsOf(t);
        return {
          file: 'gpu-gather',
          kernel: t.kernel,
          tag: t.tag,
          args: Object.fromEntries(Object.entries(a).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v)])),
          types: Object.fromEntries(meta.params.map((p) => [p.name, p.type])),
        };
      });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-ties-'));
      fs.writeFileSync(path.join(dir, 'specs.json'), JSON.stringify(inputs));
      execFileSync(process.execPath, [path.join(root, 'test/support/webgpu-run.mjs'), 'gpu-gather'], {
        env: {
          ...process.env,
          PARAD_GPU_SPECS: path.join(dir, 'specs.json'),
          PARAD_GPU_OUT: path.join(dir, 'report.json'),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));
    }, 300_000);

    test('K_b on the GPU (gathers, no atomics) matches JavaScript with every strategy, and the dot-product test holds', () => {
      if (!report.canRun) {
        if (process.env.CI) expect.fail('no SwiftShader: apt-get install chromium libvulkan1');
        return;
      }
      const f = report.fixtures['gpu-gather'];
      expect(f.failure).toBeUndefined();
      expect(f.adjoints.length).toBe(5 * TIES.length);
      for (const r of f.adjoints) {
        const what = `${r.fn} (${r.tag}) with ${r.strategy ?? "the schedule's strategies"}`;
        expect(r.failure, what).toBeUndefined();
        for (const [where, err] of Object.entries(r.errors)) expect(err, `${what}: ${where}`).toBeLessThanOrEqual(1e-5);
        if (!r.strategy) expect(r.dot!.rel, what).toBeLessThanOrEqual(1e-5);
      }
    });
  });
});
