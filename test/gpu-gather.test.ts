/**
 * Issue 13: on WebGPU, never a CAS loop where a gather, a reduction or a direct write is correct.
 * The natural formulations of fixtures/gpu-gather (and the quasi fixture's transposed conv) must
 * get a gather, a reduction or direct updates for every read on the wgsl target, and the gathers
 * run in JavaScript (forced, f64) must apply and pass the dot-product test at every spec's sizes. fixtures.test.ts checks goldens, FD and dot tests of the
 * sequential schedule; wgsl.test.ts runs them on WebGPU.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
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
