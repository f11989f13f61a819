/**
 * An iteration's own tape in JavaScript (schedule/stack.ts `tapeInArray`): what an iteration of a
 * parallel nest pushes and pops itself inside inner loops goes on a scratch array with a counter
 * of the iteration's own, sized before the nest, instead of the function's `Tape`. Only where that
 * size is right for every iteration: the inner loops' trips from names the iteration does not
 * change, no push or pop under a branch, no pop of another pass's value. Each case's adjoint passes
 * the dot-product test (parad/testing's checkAdjoint), whichever tape it got.
 */
import { describe, expect, test } from 'vitest';
import { compile } from '../transformer/index.js';
import { checkAdjoint } from '../testing/index.js';
import { loadGenerated } from './support/load.js';

const kernel = (loop: string) => `import type { f64, i32 } from 'parad';
/** @kernel */
export function k(y: Float64Array, x: Float64Array, K: i32, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    let m = x[i];
${loop}
    y[i] = m;
  }
}
`;

const rand = (n: number, seed: number) =>
  Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 3.7) * 2);
const args = () => ({ y: rand(12, 1), x: rand(40, 2), K: 5, n: 12 });

async function adjointOf(src: string): Promise<{ code: string; ok: boolean; detail: string }> {
  const r = await compile(src, { fileName: 'k.ts', format: 'js' });
  const code = r.code!;
  const fn = code.slice(code.indexOf('function k_b('));
  const body = fn.slice(0, fn.indexOf('\n}\n'));
  const check = checkAdjoint(loadGenerated(code), 'k', args(), { seed: 3 });
  return { code: body, ok: check.ok, detail: JSON.stringify(check) };
}

describe('an iteration tape inside inner loops', () => {
  test('a running maximum over a window of run-time size: a scratch array sized K, no Tape', async () => {
    const a = await adjointOf(kernel('    for (let k = 1; k <= K; k++) m = Math.max(m, x[i + k]);'));
    expect(a.ok, a.detail).toBe(true);
    expect(a.code).toMatch(/const _tp1 = scratch\(k_b, \d+, .*K.*\);/);
    expect(a.code).not.toMatch(/new Tape\(\)|tape\.(push|pop)/);
  });

  test('two nested loops and a recurrence: the pushes of both, counted per iteration', async () => {
    const a = await adjointOf(
      kernel(
        '    for (let k = 1; k <= K; k++) {\n      for (let j = 0; j < 2; j++) m = m * 0.5 + x[i + k + j] * m;\n    }',
      ),
    );
    expect(a.ok, a.detail).toBe(true);
    expect(a.code).toMatch(/_tp1\[_tpt1\] = m;/);
    expect(a.code).not.toMatch(/tape\.(push|pop)/);
  });

  test('trips that vary with the iteration keep the Tape (no size before the nest fits every iteration)', async () => {
    const a = await adjointOf(kernel('    for (let k = 0; k < i % 4; k++) m = Math.max(m, x[i + k]);'));
    expect(a.ok, a.detail).toBe(true);
    expect(a.code).toMatch(/tape\.push\(/);
    expect(a.code).not.toMatch(/_tp1/);
  });

  test('pushes under a branch keep the Tape (how many depends on the path)', async () => {
    const a = await adjointOf(
      kernel('    for (let k = 1; k <= K; k++) {\n      if (x[i + k] > m) m = x[i + k];\n    }'),
    );
    expect(a.ok, a.detail).toBe(true);
    expect(a.code).not.toMatch(/_tp1\[/);
  });
});
