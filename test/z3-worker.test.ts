/**
 * z3 in its worker thread (transformer/analysis/exclusive/z3-client.ts, z3-worker.ts): a crash, an
 * out-of-memory, an exit, an error or a hang of z3 on one query makes that query `unknown` with a
 * PARAD2004 warning at its loop, the rest of the file is analyzed by a fresh worker, the CLI exits
 * normally and the esbuild plugin keeps building; a query abandoned at its deadline does not leave
 * z3 busy under the next; queries asked together run one at a time; workers are recycled. The
 * faults come from a stand-in worker (test/support/z3-faulty-worker.mjs) around the real one.
 */
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { analyze } from '../transformer/index.js';
import { configureZ3, stopZ3, z3Stats, type Z3Options } from '../transformer/analysis/exclusive/z3-client.js';
import { parad } from '../plugin/esbuild.js';

const root = path.resolve(import.meta.dirname, '..');
const faulty = path.join(root, 'test/support/z3-faulty-worker.mjs');

/**
 * `b[i] += c[3*i + 5*j]` over an inner `j < 2`: the reads of c are exclusive (3·Δi = 5·Δj has no
 * solution with |Δj| < 2 but Δi = Δj = 0), which only z3 proves (one conflict query). `fault` names an
 * extra parameter that makes the stand-in fail that query.
 */
const transposed = (name: string, fault?: string) => `/** @kernel */
export function ${name}(b: Float64Array, c: Float64Array, n: i32, size: i32${fault ? `, ${fault}: i32` : ''}): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) {
      b[i] += c[3 * i + 5 * j];
    }
  }
}
`;

/** `c[2*i + p] + c[2*i + q]`: not exclusive, and z3 is asked for a condition (there is none). */
const shifted = (name: string, fault?: string) => `/** @kernel */
export function ${name}(b: Float64Array, c: Float64Array, n: i32, p: i32, q: i32${fault ? `, ${fault}: i32` : ''}): void {
  // @parallel
  for (let i = 0; i < n; i++) {
    b[i] = c[2 * i + p] + c[2 * i + q];
  }
}
`;

const file = (...kernels: string[]) => `import type { i32 } from 'parad';\n\n${kernels.join('\n')}`;

/** The line of each kernel's @parallel loop. */
const loopLines = (src: string) => src.split('\n').flatMap((l, i) => (l.includes('for (let i') ? [i + 1] : []));

const cRead = (r: Awaited<ReturnType<typeof analyze>>, kernel: string) =>
  r.report.kernels.find((k) => k.name === kernel)!.loops[0].reads.find((x) => x.name === 'c')!;

let saved: Z3Options | undefined;
const configure = (changes: Partial<Z3Options>) => {
  saved ??= configureZ3(changes);
  configureZ3(changes);
};
afterEach(async () => {
  await stopZ3();
  if (saved) configureZ3(saved);
  saved = undefined;
});
afterAll(() => stopZ3());

describe('z3 failures are unknown verdicts with a warning; the rest of the file is analyzed', () => {
  test('crash, heap full, JavaScript heap exhausted, exit, error reply', async () => {
    // a small JavaScript heap for the worker so that `oom` exhausts it quickly (z3's own heap is WASM memory)
    configure({ worker: faulty, maxOldGenerationSizeMb: 96 });
    const faults = ['crash', 'enlarge', 'oom', 'exit', 'error'];
    const src = file(
      transposed('first'),
      ...faults.map((f) => transposed(`k_${f}`, f)),
      shifted('condition', 'crashcond'),
      transposed('last'),
    );
    const before = z3Stats();
    const r = await analyze(src, { fileName: 'faults.ts' });
    // the queries z3 answered: exclusive, proven
    expect(cRead(r, 'first')).toMatchObject({ exclusiveRead: 'yes', strategy: 'direct' });
    expect(cRead(r, 'last')).toMatchObject({ exclusiveRead: 'yes', strategy: 'direct' });
    // the ones it failed on: unknown (atomic updates), a PARAD2004 warning at the loop each
    const causes: Record<string, RegExp> = {
      crash: /z3 crashed \(RuntimeError: memory access out of bounds\)/,
      enlarge: /z3 ran out of memory \(RuntimeError: Aborted\(Cannot enlarge memory arrays/,
      oom: /the z3 worker ran out of memory/,
      exit: /the z3 worker exited \(code 7\)/,
      error: /z3 failed \(RuntimeError: unreachable\)/,
    };
    const lines = loopLines(src);
    const failures = r.diagnostics.filter((d) => d.code === 'PARAD2004');
    faults.forEach((f, i) => {
      const read = cRead(r, `k_${f}`);
      expect(read, f).toMatchObject({
        exclusiveRead: 'unknown',
        strategy: 'gather',
        targets: { ts: { strategy: 'direct' }, wgsl: { strategy: 'gather' } },
      });
      expect(read.reason, f).toMatch(causes[f]);
      const w = failures.find((d) => d.line === lines[i + 1]);
      expect(w, f).toMatchObject({ severity: 'warning' });
      expect(w!.message, f).toMatch(
        new RegExp(`^z3 failed on the exclusive-read query for c, now undecided: ${causes[f].source}`),
      );
    });
    // a failed condition query: no condition (not versioned), a warning that says so; the verdict is z3's
    expect(cRead(r, 'condition')).toMatchObject({ exclusiveRead: 'no', strategy: 'gather', condition: null });
    expect(failures.find((d) => d.line === lines[faults.length + 1])!.message).toMatch(
      /^z3 failed on the exclusive-read condition for c, so its adjoint is not versioned: z3 crashed/,
    );
    expect(failures).toHaveLength(faults.length + 1);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    // after each failure the next query went to a fresh worker
    const after = z3Stats();
    expect(after.failures - before.failures).toBe(faults.length + 1);
    expect(after.workers - before.workers).toBe(faults.length + 2);
  });

  test('a worker that hangs (its thread busy) is terminated at the deadline', async () => {
    configure({ worker: faulty, deadlineMs: 1500 });
    const r = await analyze(file(transposed('k_hang', 'hang')), { fileName: 'hang.ts' });
    expect(cRead(r, 'k_hang')).toMatchObject({
      exclusiveRead: 'unknown',
      strategy: 'gather',
      targets: { ts: { strategy: 'direct' }, wgsl: { strategy: 'gather' } },
    });
    expect(r.diagnostics.find((d) => d.code === 'PARAD2004')!.message).toBe(
      'z3 failed on the exclusive-read query for c, now undecided: z3 did not answer within 1.5 s',
    );
  });

  test('a real z3 query abandoned at its deadline: the worker is terminated, the next query gets a fresh z3 and the right answer; failed analyses are not cached', async () => {
    const src = file(transposed('abandoned'));
    configure({ deadlineMs: 1 });
    const late = await analyze(src, { fileName: 'late.ts' });
    expect(cRead(late, 'abandoned')).toMatchObject({ exclusiveRead: 'unknown' });
    expect(late.diagnostics.map((d) => d.code)).toContain('PARAD2004');
    const workers = z3Stats().workers;
    configure({ deadlineMs: 30_000 });
    // the same kernel again: asked again (not answered from compile's cache), right this time
    const r = await analyze(src, { fileName: 'late.ts' });
    expect(cRead(r, 'abandoned')).toMatchObject({ exclusiveRead: 'yes' });
    expect(r.diagnostics).toEqual([]);
    expect(z3Stats().workers).toBe(workers + 1);
  });
});

test('queries asked together run one at a time, with the answers of queries asked alone', async () => {
  const names = ['p1', 'p2', 'p3'];
  const srcs = names.map((n, i) => file(i % 2 ? shifted(n) : transposed(n)));
  const before = z3Stats();
  const together = await Promise.all(srcs.map((s, i) => analyze(s, { fileName: `${names[i]}.ts` })));
  // z3-solver refuses a second query while one runs: had two overlapped, one would have failed
  expect(z3Stats().failures).toBe(before.failures);
  expect(together.map((r) => r.diagnostics)).toEqual([[], [], []]);
  expect(together.map((r, i) => cRead(r, names[i]).exclusiveRead)).toEqual(['yes', 'no', 'yes']);
});

test('workers are recycled after maxQueries queries and when idle, and answers stay right', async () => {
  configure({ maxQueries: 1 });
  const before = z3Stats();
  const r = await analyze(file(transposed('one'), shifted('two')), { fileName: 'recycle.ts' });
  expect(['one', 'two'].map((k) => cRead(r, k).exclusiveRead)).toEqual(['yes', 'no']);
  let after = z3Stats();
  expect(after.workers - before.workers).toBe(2);
  expect(after.recycled - before.recycled).toBe(2);
  configure({ maxQueries: 500, idleMs: 50 });
  await analyze(file(transposed('four')), { fileName: 'idle1.ts' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  after = z3Stats();
  await analyze(file(transposed('five')), { fileName: 'idle2.ts' });
  expect(z3Stats().workers - after.workers).toBe(1);
});

test('the esbuild plugin keeps building when z3 crashes', async () => {
  configure({ worker: faulty });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-z3-'));
  try {
    fs.writeFileSync(path.join(dir, 'k.kernel.ts'), file(transposed('ok'), transposed('bad', 'crash')));
    fs.writeFileSync(path.join(dir, 'app.ts'), "export * from './k.kernel.ts';\n");
    const ctx = await esbuild.context({
      entryPoints: [path.join(dir, 'app.ts')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      absWorkingDir: dir,
      external: ['parad'],
      write: false,
      logLevel: 'silent',
      plugins: [parad({ declarations: false })],
    });
    try {
      const crashed = await ctx.rebuild();
      expect(crashed.errors).toEqual([]);
      expect(crashed.outputFiles![0].text).toContain('function bad_b');
      expect(crashed.warnings.map((w) => w.text)).toContainEqual(
        expect.stringMatching(/^PARAD2004: z3 failed on the exclusive-read query for c, now undecided: z3 crashed/),
      );
      // the kernel edited: built again, by a fresh worker
      fs.writeFileSync(path.join(dir, 'k.kernel.ts'), file(transposed('ok'), transposed('good')));
      const r = await ctx.rebuild();
      expect(r.errors).toEqual([]);
      expect(r.warnings).toEqual([]);
    } finally {
      await ctx.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('parad analyze exits normally with every kernel analyzed when z3 crashes on one (node bin/parad.js, needs npm run build)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-z3-cli-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'k.ts'),
      file(transposed('before'), transposed('bad', 'crash'), transposed('after')),
    );
    const r = spawnSync(process.execPath, [path.join(root, 'bin/parad.js'), 'analyze', 'k.ts', '--json'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PARAD_Z3_WORKER: faulty },
    });
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as {
      files: { kernels: { name: string; loops: { reads: { name: string; exclusiveRead: string }[] }[] }[] }[];
    };
    const verdict = (k: string) =>
      json.files[0].kernels.find((x) => x.name === k)!.loops[0].reads.find((x) => x.name === 'c')!.exclusiveRead;
    expect(['before', 'bad', 'after'].map(verdict)).toEqual(['yes', 'unknown', 'yes']);
    expect(r.stderr).toMatch(
      /k\.ts:\d+:\d+ - warning PARAD2004: z3 failed on the exclusive-read query for c, now undecided: z3 crashed \(RuntimeError: memory access out of bounds\)/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
