/**
 * WGSL emission without a GPU: what the generated `wgsl` export describes (passes, bindings,
 * uniforms, workgroup sizes, the host function) and the diagnostics of what it cannot lower.
 * test/wgsl.test.ts runs the shaders.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { compile } from '../transformer/index.js';
import { loadGenerated } from './support/load.js';
import { imports32, to32 } from './support/fixtures32.js';
import type { WgslModule } from '../runtime/index.js';

const header = "import type { f32, i32 } from 'parad';\n";
const kernel = (pragma: string) => `${header}/** @kernel */
export function blur2(out: Float32Array, u: Float32Array, a: f32, H: i32, W: i32): void {
  // @parallel ${pragma}
  for (let y = 1; y < H - 1; y++) {
    // @parallel
    for (let x = 1; x < W - 1; x++) {
      out[y * W + x] = a * (u[y * W + x - 1] + u[y * W + x + 1]);
    }
  }
}
`;

async function wgslOf(src: string) {
  const r = await compile(src, { fileName: 'k.ts', format: 'js', targets: ['ts', 'wgsl'] });
  return { r, wgsl: r.code ? (loadGenerated(r.code).wgsl as WgslModule) : undefined };
}

describe('the wgsl export', () => {
  test('a 2-D nest: one pass, 8×8 by default, x the inner loop, bindings by access, scalars as uniforms', async () => {
    const { wgsl } = await wgslOf(kernel(''));
    const p = wgsl!.kernels.blur2.primal;
    expect(p.passes).toHaveLength(1);
    const pass = p.passes[0];
    expect(pass.workgroupSize).toEqual([8, 8, 1]);
    expect(pass.bindings).toEqual([
      { binding: 1, name: 'out', access: 'read_write' },
      { binding: 2, name: 'u', access: 'read' },
    ]);
    expect(pass.uniforms).toEqual([
      { name: 'H', type: 'i32' },
      { name: 'W', type: 'i32' },
      { name: 'a', type: 'f32' },
    ]);
    expect(pass.code).toContain('let x: i32 = 1 + 1 * i32(gid.x);');
    expect(pass.code).toContain('let y: i32 = 1 + 1 * i32(gid.y);');
    // the tangent: a and its partner ad are uniforms, ud a read binding
    const d = wgsl!.kernels.blur2.d!;
    expect(d.passes[0].uniforms.map((x) => x.name)).toEqual(['H', 'W', 'a', 'ad']);
    expect(d.passes[0].bindings.map((b) => `${b.name}:${b.access}`)).toEqual([
      'out:read_write',
      'outd:read_write',
      'u:read',
      'ud:read',
    ]);
    // the host dispatches W-2 × H-2 iterations
    const calls: unknown[] = [];
    (p.host as (...a: unknown[]) => void)(
      { dispatch: (...a: unknown[]) => calls.push(a) },
      { length: 48 },
      { length: 48 },
      0.5,
      6,
      8,
    );
    expect(calls).toEqual([[0, [6, 4], { H: 6, W: 8, a: 0.5 }]]);
  });

  test('workgroup=4x32 sets the size (x innermost); a wrong one is PARAD3001', async () => {
    const { wgsl } = await wgslOf(kernel('workgroup=4x32'));
    expect(wgsl!.kernels.blur2.primal.passes[0].workgroupSize).toEqual([32, 4, 1]);
    expect(wgsl!.kernels.blur2.primal.passes[0].code).toContain('@workgroup_size(32, 4, 1)');
    for (const [pragma, message] of [
      ['workgroup=64', /has 1 dimension, the @parallel nest 2/],
      ['workgroup=32x32', /1024 invocations; WebGPU allows 1 to 256/],
    ] as const) {
      const { r } = await wgslOf(kernel(pragma));
      expect(r.code).toBeUndefined();
      expect(r.diagnostics.find((x) => x.code === 'PARAD3001')?.message).toMatch(message);
    }
  });

  test('what cannot be lowered is PARAD3001 with the reason, located at the statement (the kernel where there is none)', async () => {
    const cases: [string, RegExp, string][] = [
      [
        `${header}/** @kernel */\nexport function k(y: Float64Array, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) y[i] = 1;\n}\n`,
        /'y' is Float64Array: WGSL has no 64-bit floats/,
        'export function k(y: Float64Array, n: i32): void {',
      ],
      [
        `${header}/** @kernel */\nexport function k(y: Float32Array, n: i32): void {\n  let s = 0;\n  for (let i = 0; i < n; i++) s += y[i];\n  // @parallel\n  for (let i = 0; i < n; i++) y[i] = s;\n}\n`,
        /the assignment to 's' reads y\[…\] outside @parallel loops/,
        '  for (let i = 0; i < n; i++) s += y[i];',
      ],
      [
        `${header}/** @kernel */\nexport function k(y: Float32Array, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n    // @parallel\n    for (let j = 0; j < i; j++) y[i * n + j] = 1;\n  }\n}\n`,
        /depend on i \(only rectangular/,
        '    for (let j = 0; j < i; j++) y[i * n + j] = 1;',
      ],
      [
        `${header}/** @kernel */\nexport function k(y: Float32Array, n: i32): void {\n  y[0] = 1;\n  // @parallel\n  for (let i = 1; i < n; i++) y[i] = 2;\n}\n`,
        /a write to y\[…\] outside @parallel loops/,
        '  y[0] = 1;',
      ],
      [
        `${header}/** @kernel */\nexport function k(y: Float32Array, n: i32): void {\n  // @parallel workgroup=512\n  for (let i = 0; i < n; i++) y[i] = 2;\n}\n`,
        /workgroup=512 has 512 invocations/,
        '  for (let i = 0; i < n; i++) y[i] = 2;',
      ],
    ];
    for (const [src, message, lineText] of cases) {
      const { r } = await wgslOf(src);
      const d = r.diagnostics.find((x) => x.code === 'PARAD3001');
      expect(d?.message, src).toMatch(message);
      expect(d?.lineText, src).toBe(lineText);
    }
  });

  test('every problem of a kernel is reported in one compile, each at its statement', async () => {
    const { r } = await wgslOf(
      `${header}/** @kernel */\nexport function k(y: Float32Array, n: i32): void {\n  y[0] = 1;\n  // @parallel workgroup=8x8\n  for (let i = 1; i < n; i++) y[i] = 2;\n  y[1] = y[0];\n}\n`,
    );
    const errors = r.diagnostics.filter((x) => x.code === 'PARAD3001');
    expect(errors.map((d) => [d.lineText.trim(), d.message.replace(/^kernel 'k' cannot run on WebGPU: /, '')])).toEqual(
      [
        ['y[0] = 1;', 'a write to y[…] outside @parallel loops (put it inside a @parallel loop)'],
        ['for (let i = 1; i < n; i++) y[i] = 2;', 'workgroup=8x8 has 2 dimensions, the @parallel nest 1'],
        ['y[1] = y[0];', 'a write to y[…] outside @parallel loops (put it inside a @parallel loop)'],
      ],
    );
  });

  test('a kernel without @parallel loops is one invocation (PARAD3003) returning through _ret', async () => {
    const { r, wgsl } = await wgslOf(
      `${header}/** @kernel */\nexport function dot(x: Float32Array, y: Float32Array, n: i32): f32 {\n  let s = 0;\n  for (let i = 0; i < n; i++) s += x[i] * y[i];\n  return s;\n}\n`,
    );
    expect(r.diagnostics.map((d) => d.code)).toContain('PARAD3003');
    expect(wgsl!.kernels.dot.primal.returns).toBe(1);
    expect(wgsl!.kernels.dot.d!.returns).toBe(2);
    expect(wgsl!.kernels.dot.primal.passes[0].code).toContain('_ret[0] = s;');
  });

  test('(a / b) | 0 of integers is integer division (no f32 rounding of large indices)', async () => {
    const { wgsl } = await wgslOf(
      `${header}/** @kernel */\nexport function rows(y: Float32Array, x: Float32Array, W: i32, n: i32): void {\n  // @parallel\n  for (let k = 0; k < n; k++) y[k] = x[(k / W) | 0];\n}\n`,
    );
    expect(wgsl!.kernels.rows.primal.passes[0].code).toContain('y[k] = x[(k / W)];');
  });

  test('scalar code around the nests runs on the host, floats included (kappa2 reaches the pass as a uniform)', async () => {
    const { r, wgsl } = await wgslOf(
      `${header}/** @kernel */\nexport function k(y: Float32Array, kappa: f32, n: i32): void {\n  const kappa2 = kappa * kappa;\n  const half = (n / 2) | 0;\n  // @parallel\n  for (let i = 0; i < half; i++) y[i] = kappa2 * y[i];\n}\n`,
    );
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(wgsl!.kernels.k.primal.passes[0].uniforms).toEqual([
      { name: 'half', type: 'i32' },
      { name: 'kappa2', type: 'f32' },
    ]);
    // the tangent computes kappa2's partner on the host too
    expect(wgsl!.kernels.k.d!.passes[0].uniforms.map((u) => u.name)).toContain('kappa2d');
  });

  test("the adjoint's host code pops a branch's flag from the runtime's tape (GPU fuzz seed 3025: `tape.pop()` was left in the condition)", async () => {
    const { r, wgsl } = await wgslOf(
      `${header}/** @kernel */\nexport function k(y: Float32Array, x: Float32Array, a: f32, n: i32): void {\n  let s = 0.5 * Math.tanh(a);\n  // @parallel\n  for (let i = 0; i < n; i++) y[i] = Math.min(s, x[i]);\n  if (s > 0) {\n    s = Math.tanh(s);\n  }\n}\n`,
    );
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const host = String(wgsl!.kernels.k.b!.host);
    expect(host).toMatch(/if \(\w+\.pop\(\) !== 0\)/);
    expect(host).not.toMatch(/\btape\b/);
  });

  test('kernel names that WGSL reserves or the lowering calls are renamed (max → max_, u → u_)', async () => {
    const { wgsl } = await wgslOf(
      `${header}/** @kernel */\nexport function k(y: Float32Array, u: Float32Array, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n    const max = u[i] * 2;\n    y[i] = Math.max(max, u[i]);\n  }\n}\n`,
    );
    const code = wgsl!.kernels.k.primal.passes[0].code;
    expect(code).toContain('let max_: f32 = (u_[i] * 2.0);');
    expect(code).toContain('y[i] = max(max_, u_[i]);');
  });

  test('max, min and *= reductions of a parallel loop: a private value per invocation, a workgroup tree, one compare-and-swap update per workgroup; K_d and K_b of two max/min reductions in one loop stay in JavaScript (PARAD3002)', async () => {
    const { r, wgsl } = await wgslOf(
      `${header}/** @kernel */\nexport function k(x: Float32Array, n: i32): f32 {\n  let hi = x[0];\n  let lo = 2;\n  let p = 1;\n  // @parallel\n  for (let i = 0; i < n; i++) {\n    hi = Math.max(hi, x[i]);\n    lo = Math.min(x[i] * 3, lo);\n    p *= x[i];\n  }\n  return hi - lo + p;\n}\n`,
    );
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.diagnostics.filter((d) => d.code === 'PARAD3002').map((d) => d.message)).toEqual([
      expect.stringMatching(
        /^k_d and k_b of 'k' have no WGSL version: the Math\.max reduction of 'hi' \(line 9\) runs on WebGPU in k only \(its derivatives need the arg-max; the tangents of the Math\.max\/min reductions of 'hi' and 'lo' on the GPU: one max\/min reduction per parallel loop\)/,
      ),
    ]);
    const k = wgsl!.kernels.k;
    expect(k.d).toBeUndefined();
    expect(k.b).toBeUndefined();
    const code = k.primal.passes.map((p) => p.code).find((c) => c.includes('workgroupBarrier'))!;
    // identities: the largest finite f32 for max/min (WGSL has no infinity), 1 for the product
    expect(code).toContain('var _gr0: f32 = -3.4028234663852886e38;');
    expect(code).toContain('var _gr1: f32 = 3.4028234663852886e38;');
    expect(code).toContain('var _gr2: f32 = 1.0;');
    expect(code).toContain('_gr0 = max(_gr0, (x[i]));');
    expect(code).toContain('_gr1 = min(_gr1, ((x[i] * 3.0)));');
    expect(code).toContain('_gr2 = _gr2 * (x[i]);');
    expect(code).toContain('_gw0[_lid] = max(_gw0[_lid], _gw0[_lid + _grs]);');
    expect(code).toContain('_gw2[_lid] = _gw2[_lid] * _gw2[_lid + _grs];');
    // max/min: the CAS loop stops when the slot already holds the extremum
    expect(code).toMatch(/fn _atomicMax__sc\(i: i32, v: f32\) \{[\s\S]*if \(!\(v > bitcast<f32>\(old\)\)\) \{/);
    expect(code).toMatch(/fn _atomicMin__sc\(i: i32, v: f32\) \{[\s\S]*if \(!\(v < bitcast<f32>\(old\)\)\) \{/);
    expect(code).toContain('_atomicMax__sc(0, _gw0[0]);');
    expect(code).toContain('_atomicMin__sc(1, _gw1[0]);');
    expect(code).toContain('_atomicMul__sc(2, _gw2[0]);');
    // no compare-and-swap add: nothing in the pass adds
    expect(code).not.toContain('_atomicAdd');
  });

  test("a max/min reduction's K_d and K_b on the GPU: the reduction, then the winning iteration (the earliest for Math.max(s, e), the latest for Math.max(e, s)), then its tangent or adjoint", async () => {
    const src = (update: string) =>
      `${header}/** @kernel */\nexport function k(x: Float32Array, n: i32): f32 {\n  let m = x[0];\n  // @parallel\n  for (let i = 1; i < n; i++) {\n    const t = x[i] * x[i];\n    ${update}\n  }\n  return m;\n}\n`;
    const earlier = await wgslOf(src('m = Math.max(m, t);'));
    expect(earlier.r.diagnostics.filter((d) => d.code === 'PARAD3002')).toEqual([]);
    const d = earlier.wgsl!.kernels.k.d!;
    // K_b: the forward sweep finds the winner the same way; the reverse sweep routes m's adjoint to it
    const b = earlier.wgsl!.kernels.k.b!;
    const bPasses = b.passes.map((p) => p.code);
    expect(bPasses.some((c) => /_atomicMax__sc\(\d, _gw\d\[0\]\)/.test(c))).toBe(true);
    expect(bPasses.some((c) => /_gr(\d) = min\(_gr\1, \(select\(3\.4028234663852886e\+38, f32\(i\)/.test(c))).toBe(
      true,
    );
    const passes = d.passes.map((p) => p.code);
    // the reduction of m, the winner (a min of the iteration number among those whose contribution is the maximum, unless the initial value is), its tangent summed, md chosen
    expect(passes.filter((c) => c.includes('workgroupBarrier'))).toHaveLength(3);
    const [reduce, winner, tangent] = passes.filter((c) => c.includes('workgroupBarrier'));
    expect(reduce).toMatch(/_atomicMax__sc\(\d, _gw\d\[0\]\)/);
    expect(winner).toMatch(
      /_gr(\d) = min\(_gr\1, \(select\(3\.4028234663852886e\+38, f32\(i\), \(\(t == .*\) && \(.* != .*\)\)\)\)\);/,
    );
    expect(tangent).toMatch(/_gr\d \+= select\(0\.0, .*, \(f32\(i\) == /);
    // Math.max(t, m): the latest iteration whose contribution is the maximum wins (a max of the iteration number, -1 for none)
    const later = await wgslOf(src('m = Math.max(t, m);'));
    const winnerLater = later
      .wgsl!.kernels.k.d!.passes.map((p) => p.code)
      .filter((c) => c.includes('workgroupBarrier'))[1];
    expect(winnerLater).toMatch(/_gr(\d) = max\(_gr\1, \(f32\(select\(\(-1\), i, \(t == /);
  });
});

describe('the WGSL adjoint', () => {
  const fixtures = path.resolve(import.meta.dirname, '../fixtures');
  const dirs = fs
    .readdirSync(fixtures, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

  test('no compare-and-swap loop where a gather or a reduction was possible: only reads the analysis leaves to atomics get one', async () => {
    let atomicReads = 0;
    for (const dir of dirs) {
      const r = await compile(to32(fs.readFileSync(path.join(fixtures, dir, `${dir}.ts`), 'utf8')), {
        fileName: `${dir}.ts`,
        format: 'js',
        targets: ['ts', 'wgsl'],
        resolveImport: imports32(dir),
      });
      const wgsl = loadGenerated(r.code!).wgsl as WgslModule;
      for (const k of r.analysis.kernels) {
        // the GPU schedule's strategies: atomic only for reads the analysis cannot decide, or where per-iteration copies cannot be kept
        const gpuReads = k.loops.flatMap((l) => l.reads).map((x) => ({ ...x, ...x.targets!.wgsl! }));
        gpuReads.forEach((x) => {
          if (x.strategy === 'atomic' && x.exclusiveRead !== 'unknown')
            expect(x.reason, `${k.name}: ${x.name}`).toMatch(/move with the parallel loops/);
        });
        // atomics where the decision says so, or as the fallback of a gather checked at run time
        const atomic = gpuReads
          .filter((x) => x.strategy === 'atomic' || /atomic updates otherwise/.test(x.reason))
          .map((x) => `${x.name}b`);
        // a scalar reduction of the primal (fixtures/reductions): the forward sweep's workgroups add their partials to the device scalar
        if (gpuReads.some((x) => /reduction of the parallel loop/.test(x.reason))) atomic.push('_sc');
        atomicReads += gpuReads.filter((x) => x.strategy === 'atomic' && x.exclusiveRead === 'unknown').length;
        // (fixtures/extrema: kernels whose K_b runs in JavaScript, test/wgsl.test.ts lists them)
        for (const [i, pass] of (wgsl.kernels[k.name].b?.passes ?? []).entries()) {
          const cas = [...pass.code.matchAll(/^fn _atomicAdd_(\w+)\(/gm)].map((m) => m[1]);
          expect(
            cas.filter((a) => !atomic.includes(a)),
            `${k.name}_b pass ${i}`,
          ).toEqual([]);
        }
      }
    }
    // the index-array gathers (fixtures/gather) are the ones left to atomics
    expect(atomicReads).toBeGreaterThan(0);
  });

  test('reductions and gathers on the GPU: per-iteration private copies reduced by parad/runtime, the gather a pass over the adjoint', async () => {
    const src = `${header}/** @kernel */
export function axpb(y: Float32Array, x: Float32Array, a: f32, n: i32): void {
  // @parallel
  for (let i = 1; i < n - 1; i++) {
    y[i] = a * (x[i - 1] + x[i + 1]);
  }
}
`;
    const { r, wgsl } = await wgslOf(src);
    expect(r.diagnostics.filter((d) => d.code === 'PARAD3002')).toEqual([]);
    const b = wgsl!.kernels.axpb.b!;
    expect(b.results).toEqual(['ab']);
    expect(b.scalars).toEqual({ buffer: '_sc', count: 1 });
    const host = String(b.host);
    // a's adjoint: private copies (at most 64 Ki, each invocation of the grid-stride pass owns one), reduced into device scalar slot 0
    expect(host).toMatch(/\.alloc\("_ab_p\d*", (_np\d+)\);[\s\S]*\.reduce\("_ab_p\d*", \1, 1, "_sc", 0\)/);
    // forced reduction: x's adjoint is indexed by the loop, so the GPU schedule gathers it instead (gpuAnalysis says so)
    const forced = await compile(src, { fileName: 'k.ts', targets: ['ts', 'wgsl'], strategy: 'reduction' });
    const strategies = (t: 'ts' | 'wgsl') =>
      Object.fromEntries(forced.analysis.kernels[0].loops[0].reads.map((x) => [x.name, x.targets![t]!.strategy]));
    expect(strategies('ts')).toEqual({ a: 'reduction', x: 'reduction' });
    expect(strategies('wgsl')).toEqual({ a: 'reduction', x: 'gather' });
    expect(forced.analysis.kernels[0].loops[0].reads.find((x) => x.name === 'x')!.targets!.wgsl!.reason).toMatch(
      /move with the parallel loops/,
    );
    // x's adjoint: exclusive for n <= 4 (versioned: direct), else gathered by a pass over xb's elements; no atomics anywhere
    expect(host).toMatch(/if \(n <= 4\)/);
    expect(b.passes.some((p) => /xb\[_j\d+\] \+= _a\d+;/.test(p.code))).toBe(true);
    expect(b.passes.every((p) => !p.code.includes('atomic'))).toBe(true);
  });
  test('a workgroup-summed device scalar and a constant-index array adjoint in one pass: each keeps its own target (fuzz seeds 2 and 3)', async () => {
    // a's adjoint is summed per workgroup into _sc[0]; w[0]'s adjoint, forced atomic, must stay an atomic add on wb[0]
    // (it went into _sc[0]'s private sum: wb lost its updates and its binding)
    const src = `${header}/** @kernel */
export function k(y: Float32Array, w: Float32Array, a: f32, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = Math.sin(a * w[0]) + y[i];
  }
}
`;
    const r = await compile(src, { fileName: 'k.ts', format: 'js', targets: ['ts', 'wgsl'], strategy: 'atomic' });
    const wgsl = loadGenerated(r.code!).wgsl as WgslModule;
    const code = wgsl.kernels.k.b!.passes.map((p) => p.code).join('\n');
    expect(code).toMatch(/_gr0 \+= /);
    expect(code).toMatch(/_atomicAdd_wb\(0, /);
  });
});
