/**
 * Branch flags (analysis/tape.ts): a branch whose condition reads what it writes is re-evaluated in
 * the reverse sweep from a flag the forward sweep pushed, but only when its branches have a reverse.
 * A parallel nest's recompute sweep used to push a flag for a branch that only computes an index
 * (`if (k > 2) k = k - 1`), popped into an empty `if` (issue 14).
 */
import { expect, test } from 'vitest';
import { compile } from '../transformer/index.js';
import { checkAdjoint, checkTangent } from '../testing/index.js';
import { loadGenerated } from './support/load.js';

const kernel = (t: 'Float64Array' | 'Float32Array', branch: string) => `import type { i32 } from 'parad';
/** @kernel */
export function k(y: ${t}, x: ${t}, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    let k = i;
    let v = x[i];
${branch}
    y[i] = x[k] * v;
  }
  // @parallel
  for (let i = 0; i < n; i++) {
    y[i] = y[i] * x[i];
  }
}
`;
const indexOnly = '    if (k > 2) {\n      k = k - 1;\n    }';
const active = '    if (v > 0.5) {\n      v = v * 0.5;\n    }';

test('no flag for a branch without a reverse (an index computed in a parallel nest); one where the branch has a reverse', async () => {
  const dead = await compile(kernel('Float64Array', indexOnly), { fileName: 'k.ts', format: 'js' });
  expect(dead.code).not.toContain('tape.push(1)');
  expect(dead.code).not.toMatch(/if \(tape\.pop\(\) !== 0\) \{\s*\}/);
  const live = await compile(kernel('Float64Array', active), { fileName: 'k.ts', format: 'js' });
  expect(live.code).toContain('tape.push(1)');
  const args = () => ({
    y: Float64Array.from([0.3, 0.9, 0.4, 0.7, 0.2]),
    x: Float64Array.from([0.6, 0.2, 0.8, 0.45, 0.3]),
    n: 5,
  });
  for (const r of [dead, live]) {
    const mod = loadGenerated(r.code!);
    expect(checkTangent(mod, 'k', args()).ok).toBe(true);
    expect(checkAdjoint(mod, 'k', args()).ok).toBe(true);
  }
});

test('on WebGPU the index-only branch needs no tape in the adjoint', async () => {
  const r = await compile(kernel('Float32Array', indexOnly), {
    fileName: 'k.ts',
    targets: ['ts', 'wgsl'],
    format: 'js',
  });
  expect(r.diagnostics.filter((d) => d.code === 'PARAD3002')).toEqual([]);
  const b = r.shaders!.filter((s) => s.fn === 'k_b');
  expect(b.length).toBeGreaterThan(0);
  for (const s of b) expect(s.code).not.toMatch(/\b_t[rp]\b/);
});
