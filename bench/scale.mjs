// npm run bench:scale: how compile cost and the adjoint's cost grow with the size of a kernel.
// Four generated families, each at growing sizes:
//   stencil1d  radius R: out[i] = Σ_{o=-R..R} w[o+R] * x[i+o]              (reads: 2·(2R+1))
//   stencil2d  T×T taps, flattened: out[c] = Σ w[k] * u[c + dy*W + dx]        (reads: 2·T²)
//   chain      N statements t = t * a + x[i + o], o in -2..2, one @parallel loop (reads: N)
//   file       K stencil kernels in one file (1-D radius 1–4 and 2-D 3×3–7×7 alternating)
// Each compile runs in a child process (node --expose-gc): transpile ms and CPU ms (compile(), the CLI's
// TypeScript output, after a warm-up compile of small kernels of each shape so that loading and
// first-use costs are not counted), the child's peak RSS ("compile MB": above its RSS after the
// warm-up; 0 when below the warm-up's peak), and the z3 queries the analysis asked. The generated
// module (types stripped by esbuild) then runs in two more children, K and K_b on the same data:
// K_b/K time (medians of BENCH_SCALE_REPS runs) and memory (the children's peak RSS; "+arrays"
// is K_b's peak above K's in arrays of n doubles). Per family, the growth exponent is the least-squares
// slope of log(time) and log(memory above the warm-up's) against log(reads): 1 is linear.
//   npm run bench:scale                      every family at its default sizes
//   npm run bench:scale -- stencil2d chain   some families
//   BENCH_SCALE_SIZES=1,8,81 npm run bench:scale -- stencil1d
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const header = "import type { f64, i32 } from 'parad';\n";
const signed = (o) => (o < 0 ? ` - ${-o}` : o > 0 ? ` + ${o}` : '');

/** A 1-D stencil of radius R with learnable weights (x and w read 2R + 1 times each). */
export function stencil1d(R, name = 'stencil1d') {
  const terms = [];
  for (let o = -R; o <= R; o++) terms.push(`w[${o + R}] * x[i${signed(o)}]`);
  return `/** 1-D stencil, radius ${R}. @kernel */
export function ${name}(out: Float64Array, x: Float64Array, w: Float64Array, n: i32): void {
  // @parallel
  for (let i = ${R}; i < n - ${R}; i++) {
    out[i] = ${terms.join('\n      + ')};
  }
}
`;
}

/** A flattened 2-D stencil with T×T taps (T odd): `u[c + dy*W + dx]` around c = y*W + x. */
export function stencil2d(T, name = 'stencil2d') {
  const h = (T - 1) >> 1;
  const terms = [];
  for (let dy = -h; dy <= h; dy++) {
    for (let dx = -h; dx <= h; dx++)
      terms.push(`w[${terms.length}] * u[c${dy ? ` ${dy < 0 ? '-' : '+'} ${Math.abs(dy)} * W` : ''}${signed(dx)}]`);
  }
  return `/** flattened 2-D stencil, ${T}x${T} taps. @kernel */
export function ${name}(out: Float64Array, u: Float64Array, w: Float64Array, H: i32, W: i32): void {
  // @parallel
  for (let y = ${h}; y < H - ${h}; y++) {
    // @parallel
    for (let x = ${h}; x < W - ${h}; x++) {
      const c = y * W + x;
      out[c] = ${terms.join('\n        + ')};
    }
  }
}
`;
}

/** A chain of N statements `t = t * a + x[i + o]` (o cycling through -2..2) in one @parallel loop. */
export function chain(N, name = 'chain') {
  const lines = [];
  for (let s = 0; s < N; s++) lines.push(`    t = t * a + x[i${signed(((s * 3) % 5) - 2)}];`);
  return `/** a chain of ${N} statements. @kernel */
export function ${name}(out: Float64Array, x: Float64Array, a: f64, n: i32): void {
  // @parallel
  for (let i = 2; i < n - 2; i++) {
    let t = 0;
${lines.join('\n')}
    out[i] = t;
  }
}
`;
}

/** K stencil kernels: 1-D of radius 1–4 and 2-D of 3×3–7×7 taps, alternating. */
export const stencilFile = (K) =>
  Array.from({ length: K }, (_, k) => (k % 2 ? stencil1d(1 + (k % 4), `k${k}`) : stencil2d(3 + 2 * (k % 3), `k${k}`)));

/** A kernel file of the given kernels. */
export const kernelFile = (kernels) => `${header}\n${kernels.join('\n')}`;

/**
 * The families: source at a size, the reads it has, default sizes, the kernel run for K_b/K and
 * its arguments (typed arrays of n elements where n is the problem size).
 */
export const families = {
  stencil1d: {
    source: (R) => kernelFile([stencil1d(R)]),
    reads: (R) => 2 * (2 * R + 1),
    sizes: [1, 4, 16, 64, 161],
    kernel: 'stencil1d',
    args: (R, rnd) => {
      const n = 200_000;
      return {
        n,
        primal: [new Float64Array(n), fill(rnd, n), fill(rnd, 2 * R + 1), n],
        adjoints: { out: n, x: n, w: 2 * R + 1 },
        seed: 'out',
      };
    },
  },
  stencil2d: {
    source: (T) => kernelFile([stencil2d(T)]),
    reads: (T) => 2 * T * T,
    sizes: [3, 5, 9, 13, 19],
    kernel: 'stencil2d',
    args: (T, rnd) => {
      const H = 400,
        W = 400,
        n = H * W;
      return {
        n,
        primal: [new Float64Array(n), fill(rnd, n), fill(rnd, T * T), H, W],
        adjoints: { out: n, u: n, w: T * T },
        seed: 'out',
      };
    },
  },
  chain: {
    source: (N) => kernelFile([chain(N)]),
    reads: (N) => N,
    sizes: [10, 30, 100, 300, 1000],
    kernel: 'chain',
    args: (N, rnd) => {
      const n = 20_000;
      return { n, primal: [new Float64Array(n), fill(rnd, n), 0.5, n], adjoints: { out: n, x: n }, seed: 'out' };
    },
  },
  file: {
    source: (K) => kernelFile(stencilFile(K)),
    reads: (K) =>
      Array.from({ length: K }, (_, k) => (k % 2 ? 2 * (2 * (1 + (k % 4)) + 1) : 2 * (3 + 2 * (k % 3)) ** 2)).reduce(
        (a, b) => a + b,
        0,
      ),
    sizes: [1, 4, 15, 60],
    // the first kernel (a 3×3 stencil) stands for the file's
    kernel: 'k0',
    args: (K, rnd) => families.stencil2d.args(3, rnd),
  },
};

/** Park–Miller values in [-0.5, 0.5). */
function fill(rnd, n) {
  return Float64Array.from({ length: n }, () => rnd() - 0.5);
}
function random(seed = 42) {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** Least-squares slope of log(y) against log(x) (points with y > 0). */
export function slope(xs, ys) {
  const pts = xs.map((x, i) => [Math.log(x), Math.log(ys[i])]).filter(([, y]) => Number.isFinite(y));
  if (pts.length < 2) return NaN;
  const mx = pts.reduce((a, [x]) => a + x, 0) / pts.length,
    my = pts.reduce((a, [, y]) => a + y, 0) / pts.length;
  const sxy = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0),
    sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxy / sxx;
}

/** Compile memory (MB above the warm-up) below which a size is left out of the memory exponent's fit. */
const MEMORY_FLOOR_MB = 2;

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'out', 'scale');
const moduleFile = (family, size) => path.join(outDir, `${family}-${size}.mjs`);
const peakMb = () => process.resourceUsage().maxRSS / 1024;

/** Child: compiles one family member; prints { ms, peakMb, warmMb, queries, diagnostics } as JSON. */
async function compileChild(family, size) {
  const { compile } = await import('../dist/transformer/index.js');
  const { z3Stats, stopZ3 } = await import('../dist/transformer/analysis/exclusive/z3-client.js');
  const esbuild = await import('esbuild');
  // warm-up: loading, first use and the JIT of every phase, on small kernels of each shape
  await compile(kernelFile([stencil1d(2, 'warm1'), stencil2d(3, 'warm2'), chain(5, 'warm3')]), { fileName: 'warm.ts' });
  globalThis.gc?.();
  const warmMb = process.memoryUsage().rss / 2 ** 20;
  const source = families[family].source(size);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r = await compile(source, { fileName: `${family}-${size}.ts` });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const out = {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakMb: peakMb(),
    warmMb,
    queries: z3Stats().queries,
    errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
  };
  if (r.code) {
    const js = await esbuild.transform(r.code, { loader: 'ts', format: 'esm' });
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(moduleFile(family, size), js.code);
  }
  await stopZ3();
  process.stdout.write(JSON.stringify(out));
}

/** Child: runs K or K_b (`which`) of the compiled module; prints { ms, peakMb, dataMb } as JSON. */
async function runChild(family, size, which) {
  const f = families[family];
  const mod = await import(pathToFileURL(moduleFile(family, size)).href);
  const { n, primal, adjoints, seed } = f.args(size, random());
  const names = Object.keys(adjoints);
  // K_b's arguments: each active array followed by its adjoint, in the primal's order
  const bArgs = () => {
    const args = [];
    let k = 0;
    for (const a of primal) {
      args.push(a);
      if (ArrayBuffer.isView(a)) {
        const adj = new Float64Array(adjoints[names[k++]]);
        if (names[k - 1] === seed) adj.fill(1);
        args.push(adj);
      }
    }
    return args;
  };
  const call =
    which === 'K'
      ? () => mod[f.kernel](...primal)
      : (() => {
          const args = bArgs();
          return () => mod[`${f.kernel}_b`](...args);
        })();
  globalThis.gc?.();
  const dataMb = peakMb();
  const reps = Number(process.env.BENCH_SCALE_REPS ?? 5);
  const times = [];
  for (let r = -2; r < reps; r++) {
    const t0 = performance.now();
    call();
    if (r >= 0) times.push(performance.now() - t0); // two calls warm up
  }
  times.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ ms: times[times.length >> 1], peakMb: peakMb(), dataMb, n }));
}

function child(args) {
  const text = execFileSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=8192', fileURLToPath(import.meta.url), ...args],
    { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(text);
}

async function main(selected) {
  const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  console.log(`parad bench:scale (node ${process.version}; each compile and each run in its own process)`);
  const summary = [];
  for (const family of selected) {
    const f = families[family];
    const sizes = process.env.BENCH_SCALE_SIZES ? process.env.BENCH_SCALE_SIZES.split(',').map(Number) : f.sizes;
    console.log(`\n## ${family}\n`);
    console.log(
      '| size | reads | transpile ms | CPU ms | peak MB | compile MB | z3 queries | K ms | K_b ms | K_b/K time | K MB | K_b MB | K_b/K memory | K_b +arrays of n |',
    );
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const rows = [];
    for (const size of sizes) {
      const c = child(['--compile', family, String(size)]);
      if (c.errors.length) {
        console.log(`| ${size} | ${f.reads(size)} | compile failed: ${c.errors[0].split('\n')[0]} |`);
        continue;
      }
      const k = child(['--run', family, String(size), 'K']);
      const b = child(['--run', family, String(size), 'K_b']);
      const row = { size, reads: f.reads(size), ...c, compileMb: c.peakMb - c.warmMb, k, b };
      rows.push(row);
      // K_b's peak above K's (both hold the same data and load the same module), in arrays of n doubles
      const extra = ((b.peakMb - k.peakMb) * 2 ** 20) / (8 * b.n);
      console.log(
        `| ${size} | ${row.reads} | ${fmt(c.ms)} | ${fmt(c.cpuMs)} | ${fmt(c.peakMb)} | ${fmt(row.compileMb)} | ${c.queries} | ${fmt(k.ms, 1)} | ${fmt(b.ms, 1)} | ${fmt(b.ms / k.ms, 2)} | ${fmt(k.peakMb)} | ${fmt(b.peakMb)} | ${fmt(b.peakMb / k.peakMb, 2)} | ${fmt(extra, 1)} |`,
      );
    }
    const reads = rows.map((r) => r.reads);
    const s = {
      family,
      time: slope(
        reads,
        rows.map((r) => r.ms),
      ),
      cpu: slope(
        reads,
        rows.map((r) => r.cpuMs),
      ),
      // peak RSS moves by a megabyte or two from run to run: sizes whose compile memory is below
      // that floor are noise and would dominate a log-log fit
      memory: slope(
        rows.filter((r) => r.compileMb >= MEMORY_FLOOR_MB).map((r) => r.reads),
        rows.filter((r) => r.compileMb >= MEMORY_FLOOR_MB).map((r) => r.compileMb),
      ),
      kb: slope(
        reads,
        rows.map((r) => r.b.ms / r.k.ms),
      ),
    };
    summary.push(s);
    console.log(
      `\ngrowth exponent against reads: transpile time ${fmt(s.time, 2)} (CPU ${fmt(s.cpu, 2)}), compile memory ${fmt(s.memory, 2)}, K_b/K time ${fmt(s.kb, 2)}`,
    );
  }
  console.log('\n## growth exponents (log-log slope against reads; 1 = linear)\n');
  console.log('| family | transpile time | transpile CPU | compile memory | K_b/K time |');
  console.log('|---|---:|---:|---:|---:|');
  for (const s of summary)
    console.log(`| ${s.family} | ${fmt(s.time, 2)} | ${fmt(s.cpu, 2)} | ${fmt(s.memory, 2)} | ${fmt(s.kb, 2)} |`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [mode, family, size, which] = process.argv.slice(2);
  if (mode === '--compile') await compileChild(family, Number(size));
  else if (mode === '--run') await runChild(family, Number(size), which);
  else {
    const selected = process.argv.slice(2).filter((a) => families[a]);
    await main(selected.length ? selected : Object.keys(families));
  }
}
