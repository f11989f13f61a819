/** `parad analyze`: the table, the exact JSON shape of docs/analyze.schema.json, exit codes. */
import { expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../cli/main.js';

const root = path.resolve(import.meta.dirname, '..');
const schema = JSON.parse(fs.readFileSync(path.join(root, 'docs/analyze.schema.json'), 'utf8'));

async function parad(...args: string[]) {
  let stdout = '',
    stderr = '';
  const code = await main(args, {
    cwd: root,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

/** Checks `value` against the subset of JSON Schema the schema file uses. */
function conforms(value: unknown, s: Record<string, unknown>, at = '$'): string[] {
  const errors: string[] = [];
  if (s.oneOf)
    return (s.oneOf as Record<string, unknown>[]).some((alt) => conforms(value, alt, at).length === 0)
      ? []
      : [`${at}: matches no alternative`];
  if (s.enum && !(s.enum as unknown[]).includes(value)) errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  const typeOf = (v: unknown) =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  if (types.length && !types.some((t) => t === typeOf(value) || (t === 'number' && typeof value === 'number')))
    return [`${at}: expected ${types.join('|')}, got ${typeOf(value)}`];
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of (s.required as string[]) ?? []) if (!(r in obj)) errors.push(`${at}: missing ${r}`);
    const props = (s.properties as Record<string, Record<string, unknown>>) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...conforms(v, props[k], `${at}.${k}`));
      else if (s.additionalProperties === false) errors.push(`${at}: unexpected key ${k}`);
      else if (typeof s.additionalProperties === 'object')
        errors.push(...conforms(v, s.additionalProperties as Record<string, unknown>, `${at}.${k}`));
    }
  }
  if (Array.isArray(value) && s.items)
    value.forEach((v, i) => errors.push(...conforms(v, s.items as Record<string, unknown>, `${at}[${i}]`)));
  return errors;
}

test('--json prints the documented shape, and the table names verdicts and reasons', async () => {
  const r = await parad('analyze', 'fixtures/window/window.ts', 'fixtures/stencil1d/stencil1d.ts', '--json');
  expect(r.code).toBe(0);
  const json = JSON.parse(r.stdout);
  expect(conforms(json, schema)).toEqual([]);
  expect(json.files.map((f: { file: string }) => f.file)).toEqual([
    'fixtures/window/window.ts',
    'fixtures/stencil1d/stencil1d.ts',
  ]);
  const c = json.files[0].kernels[0].loops[0].reads.find((x: { name: string }) => x.name === 'c');
  expect(c).toMatchObject({ exclusiveRead: 'depends', strategy: 'versioned', condition: 'size <= 0', assumed: false });
  expect(c.targets).toMatchObject({ ts: { strategy: 'direct' }, wgsl: { strategy: 'versioned' } });
  expect(c.targets.ts.reason).toMatch(/sequential target/);

  const table = await parad('analyze', 'fixtures/stencil1d/stencil1d.ts');
  expect(table.stdout).toMatch(
    /stencil3\s+fixtures\/stencil1d\/stencil1d\.ts:6 \(i\)\s+u\s+no\s+gather\s+direct\s+iterations i=\d+ and i=\d+ both read u\[\d+\] when n=\d+/,
  );
});

test("a file with layers: each loop (checkpointed: slots, state) and what each call's adjoint saves, in the documented shape", async () => {
  const r = await parad('analyze', 'fixtures/timestep/timestep.ts', 'fixtures/cnn/cnn.ts', '--json');
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(r.stdout);
  expect(conforms(json, schema)).toEqual([]);
  const heat = json.files[0].layers.find((l: { name: string }) => l.name === 'heatRun');
  expect(heat.loops).toEqual([{ line: 40, checkpoint: true, slots: 4, cost: null, state: ['b', 'a'] }]);
  expect(heat.calls[0]).toMatchObject({ callee: 'heatStep', saves: [], forwardSkipped: true });
  const all = json.files[0].layers.find((l: { name: string }) => l.name === 'heatRunAll');
  expect(all.calls[0]).toMatchObject({
    callee: 'heatStep',
    saves: ['b'],
    restoredBefore: [],
    restoredAfter: ['b'],
    forwardSkipped: false,
  });
  // a kernel-only file has no layers entry
  const k = JSON.parse((await parad('analyze', 'fixtures/dense/dense.ts', '--json')).stdout);
  expect(k.files[0]).not.toHaveProperty('layers');
  const table = await parad('analyze', 'fixtures/timestep/timestep.ts');
  expect(table.stdout).toMatch(
    /heatRun\s+fixtures\/timestep\/timestep\.ts:40\s+loop\s+checkpointed, 4 slots; state b, a/,
  );
});

test('a loop that is not parallel: exit 1 with a located error', async () => {
  const dir = path.join(root, '.tmp', `analyze-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'race.ts'),
    "import type { i32 } from 'parad';\n/** @kernel */\nexport function race(y: Float64Array, x: Float64Array, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n    y[0] = x[i];\n  }\n}\n",
  );
  const r = await parad('analyze', path.relative(root, path.join(dir, 'race.ts')));
  fs.rmSync(dir, { recursive: true, force: true });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /race\.ts:5:3 - error PARAD2001: this @parallel loop is not parallel: iterations i=\d+ and i=\d+ both write y\[0\]/,
  );
});
