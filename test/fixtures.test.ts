/**
 * Golden fixtures: every `fixtures/<name>/<name>.ts` compiles to exactly `fixtures/<name>/<name>.ad.ts`
 * (regenerate with UPDATE_SNAPSHOTS=1), and every kernel in it passes, in f64:
 * - the primal exported by the generated module behaves like the original,
 * - the tangent against central finite differences,
 * - the adjoint against the tangent (dot-product test), K_d/K_b leaving K's outputs in place.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compile, formatDiagnostic, type CompileResult } from '../transformer/index.js';
import { checkAdjoint, checkTangent } from '../testing/index.js';
import { loadGenerated } from './support/load.js';
import { specs } from '../fixtures/specs.js';
import { argsFor } from './support/fixture-args.js';

const root = path.resolve(import.meta.dirname, '..');
const fixturesDir = path.join(root, 'fixtures');
const update = process.env.UPDATE_SNAPSHOTS === '1';
const dirs = fs
  .readdirSync(fixturesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** Every fixture compiled up front (one at a time: the analysis shares one z3 instance). */
const compiled = new Map<string, { source: string; ts: CompileResult; js: CompileResult }>();
for (const dir of dirs) {
  const input = `fixtures/${dir}/${dir}.ts`;
  const source = fs.readFileSync(path.join(root, input), 'utf8');
  compiled.set(dir, {
    source,
    ts: await compile(source, { fileName: input }),
    js: await compile(source, { fileName: input, format: 'js' }),
  });
}

const clone = <T extends Record<string, unknown>>(a: T): T =>
  Object.fromEntries(
    Object.entries(a).map(([k, v]) => [k, ArrayBuffer.isView(v) ? (v as Float64Array).slice() : v]),
  ) as T;

test('every fixture directory has its input and expected output, and nothing is orphaned', () => {
  for (const dir of dirs) {
    const files = fs.readdirSync(path.join(fixturesDir, dir));
    expect(files, `fixtures/${dir}`).toContain(`${dir}.ts`);
    if (!update) expect(files, `fixtures/${dir}: run UPDATE_SNAPSHOTS=1 npm test`).toContain(`${dir}.ad.ts`);
    for (const f of files) expect([`${dir}.ts`, `${dir}.ad.ts`], `unexpected file fixtures/${dir}/${f}`).toContain(f);
  }
});

describe.each(dirs)('fixture %s', (dir) => {
  const input = `fixtures/${dir}/${dir}.ts`;
  const expectedPath = path.join(fixturesDir, dir, `${dir}.ad.ts`);
  const { source, ts, js: r } = compiled.get(dir)!;

  test('matches the golden output', () => {
    const r = ts;
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => formatDiagnostic(d, source))).toEqual([]);
    if (update) fs.writeFileSync(expectedPath, r.code!);
    expect(r.code, `${input} changed output: review, then UPDATE_SNAPSHOTS=1 npm test`).toBe(
      fs.readFileSync(expectedPath, 'utf8'),
    );
  });

  const kernels = r.kernels.map((k) => k.name);
  test('every kernel has a numeric spec', () => {
    for (const k of kernels)
      expect(
        specs.some((s) => s.file === dir && s.kernel === k),
        `no spec for ${dir}/${k} in fixtures/specs.ts`,
      ).toBe(true);
  });

  const fileSpecs = specs.filter((s) => s.file === dir);
  test.each(fileSpecs.map((s) => [s.kernel + (s.tag ? ` (${s.tag})` : ''), s] as const))(
    '%s: primal, tangent (FD) and adjoint (dot product)',
    async (_name, spec) => {
      expect(r.code, 'compiles').toBeDefined();
      const mod = loadGenerated(r.code!);
      const meta = mod.__parad.kernels[spec.kernel];
      expect(meta, `kernel ${spec.kernel} in ${input}`).toBeDefined();
      const args = argsFor(spec, meta.params);

      // the primal in the generated module is the original kernel
      const original = (await import(pathToFileURL(path.join(root, input)).href)) as Record<
        string,
        (...a: unknown[]) => unknown
      >;
      const a1 = clone(args),
        a2 = clone(args);
      const r1 = original[spec.kernel](...meta.params.map((p) => a1[p.name]));
      const r2 = (mod[spec.kernel] as (...a: unknown[]) => unknown)(...meta.params.map((p) => a2[p.name]));
      expect(r2).toEqual(r1);
      expect(a2).toEqual(a1);
      for (const p of meta.params) {
        const v = a1[p.name];
        if (ArrayBuffer.isView(v))
          for (const x of v as Float64Array) expect(Number.isFinite(x), `${p.name} finite after the primal`).toBe(true);
      }

      const t = checkTangent(mod, spec.kernel, args, { seed: 11, ...(spec.tangent ?? {}) });
      expect(t.ok, `tangent vs finite differences: ${JSON.stringify(t)}`).toBe(true);
      const a = checkAdjoint(mod, spec.kernel, args, { seed: 11 });
      expect(a.ok, `dot-product test: ${JSON.stringify(a)}`).toBe(true);
    },
  );
});
