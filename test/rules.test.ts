/**
 * Rule coverage: every Math function of the kernel language has a derivative rule, a WGSL lowering
 * and a fixture kernel (fixtures/math) whose derivatives the fixture suite checks numerically.
 * Adding a rule without a test fails here.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { RULES, ruleFor, type Rule } from '../transformer/differentiate/rules.js';
import { MATH_FUNCTIONS, OPS, type OpName } from '../transformer/ir/ops.js';
import { compile } from '../transformer/index.js';
import { specs } from '../fixtures/specs.js';

const LANGUAGE = [
  'sin',
  'cos',
  'tan',
  'asin',
  'acos',
  'atan',
  'atan2',
  'sinh',
  'cosh',
  'tanh',
  'exp',
  'expm1',
  'log',
  'log1p',
  'log2',
  'log10',
  'sqrt',
  'cbrt',
  'pow',
  'hypot',
  'abs',
  'sign',
  'min',
  'max',
  'floor',
  'ceil',
  'round',
  'trunc',
  'fround',
].map((f) => `Math.${f}`);

const mathSource = fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/math/math.ts'), 'utf8');

describe('derivative rule registry', () => {
  test('covers exactly the Math functions of the kernel language', () => {
    expect([...MATH_FUNCTIONS].sort()).toEqual([...LANGUAGE].sort());
  });

  test("has exactly one rule per operator (the registry's type makes a missing one a compile error)", () => {
    expect(Object.keys(RULES).sort()).toEqual(Object.keys(OPS).sort());
    // @ts-expect-error a registry without Math.sin does not type-check
    const missing: { [Op in OpName]: Rule<Op> } = (({ 'Math.sin': _, ...rest }) => rest)(RULES);
    // @ts-expect-error nor does a rule with partials for a piecewise-constant operator
    const smoothFloor: Rule<'Math.floor'> = { wgsl: ([x]) => x, partials: () => [null] };
    // @ts-expect-error nor a rule of the wrong arity
    const binarySin: Rule<'Math.sin'> = { wgsl: ([x, y]) => x + y, partials: () => [null, null] };
    expect([missing, smoothFloor, binarySin].every(Boolean)).toBe(true);
  });

  test.each(Object.keys(RULES) as OpName[])('%s has a WGSL lowering and consistent arity', (key) => {
    const rule = ruleFor(key);
    const args = Array.from({ length: rule.arity }, (_, i) => `a${i}`);
    const wgsl = rule.wgsl(args);
    for (const a of args) expect(wgsl).toContain(a);
    if (!rule.zero)
      expect(
        rule.partials!(
          args.map((a) => ({ k: 'var', name: a })),
          { k: 'var', name: 'r' },
        ),
      ).toHaveLength(rule.arity);
  });

  test.each(LANGUAGE)('%s is exercised by a fixture kernel with a numeric spec', async (fn) => {
    const r = await compile(mathSource, { fileName: 'fixtures/math/math.ts' });
    expect(r.code).toBeDefined();
    // the kernels of fixtures/math whose source calls fn
    const fnRe = new RegExp(`${fn.replace('.', '\\.')}\\(`);
    const bodies = mathSource.split(/\/\*\*/).filter((chunk) => fnRe.test(chunk));
    const names = bodies.map((b) => /export function (\w+)/.exec(b)?.[1]).filter((n): n is string => !!n);
    expect(names.length, `no fixture kernel in fixtures/math/math.ts calls ${fn}`).toBeGreaterThan(0);
    expect(
      names.some((n) => specs.some((s) => s.file === 'math' && s.kernel === n)),
      `no numeric spec for a kernel calling ${fn}`,
    ).toBe(true);
  });
});
