/**
 * The JavaScript lowering's outlining (lower/outline.ts): big generated functions split into
 * module-local parts V8 optimizes. Forced onto every fixture and onto random programs with parts of
 * one statement (every name crosses a part boundary), the derivatives still pass the FD and
 * dot-product checks; the TypeScript output type-checks; a 1,000-statement chain is split by default
 * and each part stays under the size limit; ordinary kernels are not touched.
 */
import { describe, expect, test } from 'vitest';
import { test as prop } from '@fast-check/vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { compile } from '../transformer/index.js';
import { checkAdjoint, checkTangent, prng } from '../testing/index.js';
import { loadGenerated, compileAndLoad } from './support/load.js';
import { specs } from '../fixtures/specs.js';
import { argsFor } from './support/fixture-args.js';
import { program, SIZE } from './support/generators.js';

/** A chain of N statements `t = t * a + x[i + o]` in one @parallel loop (bench/scale.mjs's family). */
const chain = (N: number) => `/** @kernel */
export function chain(out: Float64Array, x: Float64Array, a: f64, n: i32): void {
  // @parallel
  for (let i = 2; i < n - 2; i++) {
    let t = 0;
${Array.from({ length: N }, (_, s) => `    t = t * a + x[i + ${((s * 3) % 5) - 2}];`).join('\n')}
    out[i] = t;
  }
}
`;

const root = path.resolve(import.meta.dirname, '..');
const dirs = [...new Set(specs.map((s) => s.file))].sort();
/** every list inside a loop cut into parts of one statement */
const TINY = { limit: 0, chunk: 1 };
const source = (dir: string) => fs.readFileSync(path.join(root, `fixtures/${dir}/${dir}.ts`), 'utf8');

describe.each(['sequential', 'parallel'] as const)(
  'every fixture kernel outlined to single statements (%s schedule)',
  (schedule) => {
    test.each(dirs)('%s', async (dir) => {
      const r = await compile(source(dir), {
        fileName: `fixtures/${dir}/${dir}.ts`,
        format: 'js',
        schedule,
        outline: TINY,
      });
      expect(r.code, r.diagnostics.map((d) => d.message).join('\n')).toBeDefined();
      const mod = loadGenerated(r.code!);
      for (const spec of specs.filter((s) => s.file === dir)) {
        const args = argsFor(spec, mod.__parad.kernels[spec.kernel].params);
        const t = checkTangent(mod, spec.kernel, args, { seed: 3, ...(spec.tangent ?? {}) });
        expect(t.ok, `${spec.kernel} tangent: ${JSON.stringify(t)}`).toBe(true);
        const a = checkAdjoint(mod, spec.kernel, args, { seed: 5 });
        expect(a.ok, `${spec.kernel} adjoint: ${JSON.stringify(a)}`).toBe(true);
      }
    });
  },
);

test('outlined fixtures have parts, and their TypeScript type-checks under --strict', async () => {
  const dir = path.join(root, '.tmp', `outline-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  try {
    let parts = 0;
    for (const name of ['conv2d', 'stencil1d', 'heat', 'softmax', 'reductions', 'dense']) {
      if (!fs.existsSync(path.join(root, 'fixtures', name))) continue;
      const r = await compile(source(name), { fileName: `${name}.ts`, outline: TINY });
      expect(r.code, name).toBeDefined();
      parts += (r.code!.match(/^function _\w+_[bd]_\d+\(/gm) ?? []).length;
      fs.writeFileSync(path.join(dir, `${name}.ad.ts`), r.code!);
    }
    expect(parts).toBeGreaterThan(20);
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
          paths: { parad: [path.join(root, 'runtime/index.ts')] },
        },
        include: ['*.ad.ts'],
      }),
    );
    let output = '';
    try {
      execFileSync(
        process.execPath,
        [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', path.join(dir, 'tsconfig.json')],
        { encoding: 'utf8' },
      );
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe('');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const RUNS = Number(process.env.PARAD_PROP_RUNS ?? (process.env.CI ? 30 : 50));
prop.prop([program], { numRuns: RUNS, seed: 46 })(
  'random programs (loops, branches, in-place updates) outlined to single statements pass FD and dot tests',
  async (src) => {
    const mod = await compileAndLoad(src, { fileName: 'random.ts', outline: TINY });
    const rnd = prng(79);
    const arr = () => Float64Array.from({ length: SIZE }, () => 0.2 + rnd());
    const args = { y: arr(), x: arr(), a: 0.45, n: SIZE };
    const t = checkTangent(mod, 'k', args, { seed: 7 });
    expect(t.ok, `tangent: ${JSON.stringify(t)}\n${src}`).toBe(true);
    const a = checkAdjoint(mod, 'k', args, { seed: 7 });
    expect(a.ok, `adjoint: ${JSON.stringify(a)}\n${src}`).toBe(true);
  },
);

test('a 1,000-statement chain: K_d and K_b split by default into parts under the limit; small kernels whole', async () => {
  const src = `import type { f64, i32 } from 'parad';\n${chain(1000)}`;
  const r = await compile(src, { fileName: 'chain.ts', format: 'js' });
  expect(r.code).toBeDefined();
  const parts = r.code!.split(/^(?=function |export function )/m).filter((f) => /^function _chain_[bd]_\d+\(/.test(f));
  expect(parts.length).toBeGreaterThan(10);
  // the parts' text stays far below what 60 KB of bytecode takes (~400 KB of this code)
  for (const p of parts) expect(p.length).toBeLessThan(40_000);
  const mod = loadGenerated(r.code!);
  const n = 12;
  const rnd = prng(5);
  const args = { out: new Float64Array(n), x: Float64Array.from({ length: n }, () => rnd() - 0.5), a: 0.9, n };
  expect(checkAdjoint(mod, 'chain', args, { seed: 2 }).ok).toBe(true);
  expect(checkTangent(mod, 'chain', args, { seed: 2 }).ok).toBe(true);

  const small = await compile(source('stencil1d'), { fileName: 'stencil1d.ts', format: 'js' });
  expect(small.code).not.toMatch(/^function _\w+_\d+\(/m);
});
