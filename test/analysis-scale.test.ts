/**
 * The exclusive-read analysis scales with distinct accesses (issue 20): stencils of any radius, a
 * flattened 2-D stencil of 19×19 taps, a chain of 1,000 statements and reads at constant offsets
 * are decided without a z3 query, with the verdicts and witnesses the solver gave (the radius-8
 * witnesses below are the ones z3 found before the fast paths reached that size); reads that do need
 * z3 get one linear-size problem, whatever their number. The kernels are bench:scale's families.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { analyze, type ReadReport } from '../transformer/index.js';
import { z3Stats, stopZ3 } from '../transformer/analysis/exclusive/z3-client.js';
// @ts-expect-error: a JavaScript module without types (bench/scale.mjs), the benchmark's generators
import { stencil1d, stencil2d, chain, stencilFile, kernelFile } from '../bench/scale.mjs';

afterAll(() => stopZ3());

/** The reads of each array in the file's kernels, and the z3 queries their analysis asked. */
async function analyzed(src: string) {
  const before = z3Stats().queries;
  const r = await analyze(src, { fileName: 'k.ts' });
  const reads = r.report.kernels.flatMap((k) => k.loops.flatMap((l) => l.reads));
  return {
    r,
    reads,
    read: (name: string): ReadReport => reads.find((x) => x.name === name)!,
    queries: z3Stats().queries - before,
  };
}

/** Does iteration `it` read `element` through `x[i + o]` for one of `offsets`? */
const reads1d = (it: Record<string, number>, element: number, offsets: number[]) => offsets.includes(element - it.i);

describe('stencils of any radius: no z3 query, the same verdicts and witnesses', () => {
  test.each([1, 8, 81])('radius %i', async (R) => {
    const { read, queries, r } = await analyzed(kernelFile([stencil1d(R)]));
    expect(queries).toBe(0);
    expect(r.diagnostics).toEqual([]);
    const x = read('x'),
      w = read('w');
    expect(x).toMatchObject({ exclusiveRead: 'no', strategy: 'gather' });
    expect(w).toMatchObject({ exclusiveRead: 'no', strategy: 'reduction' });
    // the smallest size where the loop runs twice, two neighbouring iterations
    const n = 2 * R + 2;
    expect(x.reason).toBe(`iterations i=${R + 1} and i=${R} both read x[${1}] when n=${n}`);
    expect(w.reason).toBe(`iterations i=${R} and i=${R + 1} both read w[0] when n=${n}`);
    const offsets = Array.from({ length: 2 * R + 1 }, (_, k) => k - R);
    for (const it of x.witness!.iterations) expect(reads1d(it, x.witness!.element, offsets)).toBe(true);
  });

  test('a flattened 2-D stencil of 19×19 taps, a chain of 1,000 statements, 60 stencil kernels in one file', async () => {
    const s2 = await analyzed(kernelFile([stencil2d(19)]));
    expect(s2.queries).toBe(0);
    expect(s2.read('u')).toMatchObject({ exclusiveRead: 'no', strategy: 'gather' });
    const { params, iterations, element } = s2.read('u').witness!;
    // each iteration reads u[y*W + x + dy*W + dx], |dy|, |dx| <= 9
    for (const it of iterations) {
      const d = element - (it.y * params.W + it.x);
      const dy = Math.round(d / params.W);
      expect(Math.abs(dy)).toBeLessThanOrEqual(9);
      expect(Math.abs(d - dy * params.W)).toBeLessThanOrEqual(9);
    }
    const ch = await analyzed(kernelFile([chain(1000)]));
    expect(ch.queries).toBe(0);
    expect(ch.read('x')).toMatchObject({ exclusiveRead: 'no', strategy: 'gather' });
    expect(ch.read('a')).toMatchObject({ exclusiveRead: 'no', strategy: 'reduction' });
    const file = await analyzed(kernelFile(stencilFile(60)));
    expect(file.queries).toBe(0);
    expect(file.r.report.kernels).toHaveLength(60);
    expect(file.reads.every((x) => x.exclusiveRead === 'no')).toBe(true);
  });

  test('the flattened 5-point stencil: a conflict between two iterations that differ in both variables, without z3', async () => {
    const { read, queries } = await analyzed(`${kernelFile([])}/** @kernel */
export function k(b: Float64Array, c: Float64Array, H: i32, W: i32): void {
  // @parallel
  for (let y = 1; y < H - 1; y++) {
    // @parallel
    for (let x = 1; x < W - 1; x++) {
      b[y * W + x] = c[y * W + x - 1] + c[y * W + x + 1] + c[(y - 1) * W + x] + c[(y + 1) * W + x];
    }
  }
}
`);
    expect(queries).toBe(0);
    const c = read('c');
    expect(c.exclusiveRead).toBe('no');
    const {
      params: { W },
      iterations,
      element,
    } = c.witness!;
    for (const it of iterations) expect([-1, 1, -W, W].map((d) => it.y * W + it.x + d)).toContain(element);
    expect(iterations[0].y).not.toBe(iterations[1].y);
    expect(iterations[0].x).not.toBe(iterations[1].x);
  });
});

describe('reads at constant offsets: the GCD and bounds tests on their differences', () => {
  const one = (lo: number, hi: string, stmt: string) => `${kernelFile([])}/** @kernel */
export function k(b: Float64Array, c: Float64Array, n: i32): void {
  // @parallel
  for (let i = ${lo}; i < ${hi}; i++) b[i] = ${stmt};
}
`;

  // the conditions and witnesses below are the ones z3 (quantifier elimination) gave before
  test('differences that are no multiple of the stride: exclusive; one that is: a condition', async () => {
    const { read, queries } = await analyzed(one(0, 'n', 'c[4 * i] + c[4 * i + 1] + c[4 * i + 6]'));
    expect(queries).toBe(0);
    expect(read('c')).toMatchObject({ exclusiveRead: 'yes', strategy: 'direct' });
    const two = await analyzed(one(0, 'n', 'c[2 * i] + c[2 * i + 3] + c[2 * i + 7]'));
    expect(two.queries).toBe(0);
    expect(two.read('c')).toMatchObject({
      exclusiveRead: 'depends',
      condition: 'n <= 2',
      reason: 'exclusive iff n <= 2; otherwise iterations i=2 and i=0 both read c[7] when n=4',
    });
  });

  test('offsets 10 apart (and 6 apart): exclusive iff the loop runs at most that often, a real witness', async () => {
    for (const [stmt, n] of [
      ['c[i - 5] + c[i + 5]', 20],
      ['c[i - 7] * c[i + 7] + c[i - 1]', 20],
    ] as const) {
      const { read, queries } = await analyzed(
        one(stmt.includes('7') ? 7 : 5, `n - ${stmt.includes('7') ? 7 : 5}`, stmt),
      );
      expect(queries).toBe(0);
      const c = read('c');
      expect(c).toMatchObject({ exclusiveRead: 'depends', strategy: 'versioned', condition: `n <= ${n}` });
      const offsets = stmt.includes('7') ? [-7, 7, -1] : [-5, 5];
      const w = c.witness!;
      expect(w.params.n).toBe(n + 1);
      for (const it of w.iterations) expect(reads1d(it, w.element, offsets)).toBe(true);
      expect(w.iterations[0].i).not.toBe(w.iterations[1].i);
    }
  });

  test('a loop of constant length longer than the gap: no, without a condition', async () => {
    const { read, queries } = await analyzed(one(0, '6', 'c[i] + c[i + 5]'));
    expect(queries).toBe(0);
    expect(read('c')).toMatchObject({ exclusiveRead: 'no', condition: null });
    const shorter = await analyzed(one(0, '5', 'c[i] + c[i + 5]'));
    expect(shorter.read('c').exclusiveRead).toBe('yes');
  });
});

describe('what still needs z3 gets one problem of linear size', () => {
  test('nine reads at parametric offsets (81 pairs, past the pairwise encoding): one query, a real witness', async () => {
    const terms = ['p', 'q', 'p + 2 * q', '3 * p', '3 * q', '5 * p', '5 * q', '7 * p', '7 * q'];
    const { read, queries } = await analyzed(`${kernelFile([])}/** @kernel */
export function k(b: Float64Array, c: Float64Array, n: i32, p: i32, q: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) b[i] = ${terms.map((t) => `c[2 * i + ${t}]`).join(' + ')};
}
`);
    expect(queries).toBeLessThanOrEqual(2);
    const c = read('c');
    expect(c.exclusiveRead).toBe('no');
    const {
      params: { p, q },
      iterations,
      element,
    } = c.witness!;
    const offsets = [p, q, p + 2 * q, 3 * p, 3 * q, 5 * p, 5 * q, 7 * p, 7 * q];
    for (const it of iterations) expect(offsets.map((o) => 2 * it.i + o)).toContain(element);
  });
});
