/**
 * Adjoint memory follows the distinct accesses, not the statements (issue 20 item 2, issue 13
 * item 4): one parallel loop with a chain of S statements `t = t * a + x[i + o]` (o in −2…2).
 *
 * - its adjoint passes the dot-product test under every JavaScript schedule;
 * - K_b allocates at most one n-sized array per distinct (array, offset) (5 here, whatever S),
 *   counted exactly at run time (every typed array of at least n elements constructed during the
 *   call), and none on the next call (the runtime's scratch pool);
 * - the generated code has no `new Float64Array` and no tape traffic in the iteration (the values
 *   the chain overwrites are the iteration's locals);
 * - the WebGPU lowering stages 5 arrays and has no per-iteration tape region in device memory.
 */
import { describe, expect, test } from 'vitest';
import { compile } from '../transformer/index.js';
import type { Strategy } from '../transformer/analysis/exclusive/index.js';
import { checkAdjoint } from '../testing/index.js';
import { loadGenerated } from './support/load.js';

const OFFSETS = [-2, -1, 0, 1, 2];

function chainKernel(statements: number, float = 'Float64Array', scalar = 'f64'): string {
  const body = Array.from({ length: statements }, (_, k) => {
    const o = OFFSETS[k % OFFSETS.length];
    return `    t = t * a + x[i ${o < 0 ? '-' : '+'} ${Math.abs(o)}];`;
  });
  return `import type { ${scalar}, i32 } from 'parad';
/** @kernel */
export function chain(y: ${float}, x: ${float}, a: ${scalar}, n: i32): void {
  // @parallel
  for (let i = 2; i < n - 2; i++) {
    let t = x[i];
${body.join('\n')}
    y[i] = t;
  }
}
`;
}

const VARIANTS: { label: string; options: { strategy?: Strategy; schedule?: 'parallel' }; gather: boolean }[] = [
  { label: 'sequential', options: {}, gather: false },
  { label: 'parallel', options: { schedule: 'parallel' }, gather: true },
  { label: 'gather', options: { strategy: 'gather', schedule: 'parallel' }, gather: true },
  { label: 'reduction', options: { strategy: 'reduction', schedule: 'parallel' }, gather: false },
];

/** Typed arrays of at least `n` elements constructed while `f` runs. */
function bigAllocations(n: number, f: () => void): number {
  const real = globalThis.Float64Array;
  let count = 0;
  globalThis.Float64Array = new Proxy(real, {
    construct(target, args) {
      if (typeof args[0] === 'number' && args[0] >= n) count++;
      return Reflect.construct(target, args);
    },
  });
  try {
    f();
  } finally {
    globalThis.Float64Array = real;
  }
  return count;
}

// every schedule at 200 statements; the parallel one (staging) at 1,000 too
const CASES = [...VARIANTS.map((x) => [200, x.label, x] as const), [1000, 'parallel', VARIANTS[1]] as const];

describe('a chain of statements reading x at 5 offsets', () => {
  test.each(CASES)(
    '%i statements, %s: dot product, and at most one n-sized array per distinct offset, allocated once',
    async (S, _label, variant) => {
      const r = await compile(chainKernel(S), { fileName: 'chain.ts', format: 'js', ...variant.options });
      expect(r.code, 'compiles').toBeDefined();
      const code = r.code!;
      const kb = code.slice(code.indexOf('export function chain_b'), code.indexOf('export const __parad'));
      expect(kb).not.toContain('new Float64Array');
      expect(kb).not.toMatch(/tape\.(push|pop)\(/);
      if (variant.gather) expect(kb).toContain('gather (TF-MAD)');
      const mod = loadGenerated(code);
      // staged arrays in the code: scratch arrays whose size is not a constant
      const sized = [...kb.matchAll(/scratch\(chain_b, \d+, ([^,)]+)/g)].filter((m) => !/^\d+$/.test(m[1].trim()));
      if (variant.gather) expect(sized.length).toBeLessThanOrEqual(OFFSETS.length);

      const n = 4096;
      const x = Float64Array.from({ length: n }, (_, i) => 0.2 + ((i * 7919) % 1000) / 1000);
      const [y, yb, xb] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
      const run = () => (mod.chain_b as (...a: unknown[]) => unknown)(y, yb.fill(1), x, xb, 0.5, n);
      const first = bigAllocations(n, run);
      // the reduction's private copies of xb are 16 of them in one array
      expect(first, `${variant.label}: n-sized arrays allocated by the first call`).toBeLessThanOrEqual(
        variant.label === 'reduction' ? 1 : variant.gather ? OFFSETS.length : 0,
      );
      expect(bigAllocations(n, run), `${variant.label}: n-sized arrays allocated by the next call`).toBe(0);

      const m = 13;
      const rand = (len: number, s: number) =>
        Float64Array.from({ length: len }, (_, i) => 0.2 + Math.abs(Math.sin(i * 12.9898 + s)));
      const res = checkAdjoint(mod, 'chain', { y: rand(m, 1), x: rand(m, 2), a: 0.5, n: m }, { seed: 7 });
      expect(res.ok, JSON.stringify(res)).toBe(true);
    },
    120_000,
  );
});

test('the WebGPU lowering of a 200-statement chain stages one array per distinct offset and keeps the chain in locals', async () => {
  const r = await compile(chainKernel(200, 'Float32Array', 'f32'), {
    fileName: 'chain.ts',
    format: 'js',
    targets: ['ts', 'wgsl'],
    modes: ['b'],
  });
  expect(r.code, JSON.stringify(r.diagnostics)).toBeDefined();
  const host = r.code!.slice(r.code!.indexOf('function chain_b_gpu'));
  const body = host.slice(0, host.indexOf('\n}\n'));
  expect(body).toContain('gather (TF-MAD)');
  const staged = [...body.matchAll(/gpu\.alloc\("([^"]+)"/g)].map((m) => m[1]).filter((a) => a.endsWith('_g'));
  expect(staged.length, staged.join(', ')).toBe(OFFSETS.length);
  // no per-iteration tape region (iterations × values pushed) in device memory
  expect(body).not.toContain('gpu.alloc("_tr"');
});
