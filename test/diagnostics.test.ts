import { describe, expect, test } from 'vitest';
import { compile, formatDiagnostic } from '../transformer/index.js';

const header = "import type { f32, f64, i32, u32 } from 'parad';\n";

/** Compiles `body` inside a kernel with parameters (y, x: Float64Array, a: f64, n: i32). */
async function kernel(body: string, sig = '(y: Float64Array, x: Float64Array, a: f64, n: i32): void') {
  const src = `${header}/** @kernel */\nexport function k${sig} {\n${body}\n}\n`;
  return { src, result: await compile(src, { fileName: 'k.ts' }) };
}

async function expectError(body: string, code: string, line?: number, sig?: string) {
  const { result, src } = await kernel(body, sig);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  expect(result.code, 'no output when there are errors').toBeUndefined();
  const hit = errors.find((d) => d.code === code);
  expect(hit, `expected ${code}, got:\n${errors.map((d) => formatDiagnostic(d, src)).join('\n')}`).toBeDefined();
  if (line !== undefined) expect(hit!.line).toBe(line);
  return hit!;
}

describe('subset diagnostics', () => {
  // body lines start at line 4 of the generated source
  const cases: [string, string, string, number][] = [
    ['while loop', 'let i = 0;\n  while (i < n) { i++; }', 'PARAD1101', 5],
    ['break', '  for (let i = 0; i < n; i++) {\n    if (i > 2) break;\n  }', 'PARAD1101', 5],
    ['continue', '  for (let i = 0; i < n; i++) {\n    continue;\n  }', 'PARAD1101', 5],
    ['non-canonical for', '  for (let i = 0; i < n; i *= 2) { y[i] = 1; }', 'PARAD1102', 4],
    ['for with mismatched direction', '  for (let i = 0; i < n; i--) { y[i] = 1; }', 'PARAD1102', 4],
    ['var', '  var t = 1;', 'PARAD1103', 4],
    ['local without value', '  let t: f64;', 'PARAD1105', 4],
    ['call statement', '  Math.sin(a);', 'PARAD1107', 4],
    ['closure', '  const f = (q: f64) => q;', 'PARAD1201', 4],
    ['object literal', '  const o = { a: 1 };', 'PARAD1201', 4],
    ['assignment in expression', '  let t = 0;\n  y[0] = (t = 2);', 'PARAD1202', 5],
    ['postfix in expression', '  let t = 0;\n  y[0] = t++;', 'PARAD1202', 5],
    ['unknown function', '  y[0] = foo(a);', 'PARAD1206', 4],
    ['Math function arity', '  y[0] = Math.max(a, a, a);', 'PARAD1207', 4],
    ['unsupported Math member', '  y[0] = Math.random();', 'PARAD1206', 4],
    ['array as value', '  const t = x;', 'PARAD1208', 4],
    ['scalar indexed', '  y[0] = a[0];', 'PARAD1209', 4],
    [
      'shadowing',
      '  const t = 1;\n  for (let i = 0; i < n; i++) {\n    const t = 2;\n    y[i] = t;\n  }',
      'PARAD1301',
      6,
    ],
    ['unknown name', '  y[0] = zz;', 'PARAD1302', 4],
    ['write to scalar parameter', '  a = 2;', 'PARAD1303', 4],
    ['write to array parameter', '  x = y;', 'PARAD1303', 4],
    ['write to const', '  const t = 1;\n  t = 2;', 'PARAD1304', 5],
    ['write to loop variable', '  for (let i = 0; i < n; i++) {\n    i = 3;\n  }', 'PARAD1305', 5],
    [
      'loop bound changed in loop',
      '  let m = n;\n  for (let i = 0; i < m; i++) {\n    m = m - 1;\n  }',
      'PARAD1306',
      5,
    ],
    [
      'parallel loop writes outer local',
      '  let s = 0;\n  // @parallel\n  for (let i = 0; i < n; i++) {\n    s = x[i];\n  }',
      'PARAD1307',
      6,
    ],
    ['early return', '  for (let i = 0; i < n; i++) {\n    return;\n  }', 'PARAD1110', 5],
  ];
  test.each(cases)('%s', async (_name, body, code, line) => {
    await expectError(body, code, line);
  });

  test('parallel scalar reductions: +=, -=, *=, Math.max/min are accepted; anything else says what a reduction is', async () => {
    const loop = (body: string, init = '0') =>
      `  let s = ${init};\n  // @parallel\n  for (let i = 0; i < n; i++) {\n${body}\n  }\n  y[0] = s;`;
    for (const ok of [
      '    s += x[i];',
      '    s -= x[i] * a;\n    if (x[i] > 0.5) s += 1;',
      '    s *= x[i];',
      '    s = Math.max(s, x[i]);',
      '    s = Math.min(x[i] * 2, s);',
    ]) {
      const { result, src } = await kernel(loop(ok));
      expect(
        result.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d, src)),
        ok,
      ).toEqual([]);
    }
    const bad: [string, RegExp][] = [
      ['    s += x[i];\n    y[i] = s;', /the loop reads 's' outside its updates/],
      ['    s = x[i];', /'s' is assigned with a plain =/],
      ['    s += x[i] * s;', /the update of 's' reads 's' in its right-hand side/],
      ['    s += x[i];\n    s *= 2;', /'s' is updated with both \+=\/-= and \*=/],
      [
        '    if (x[i] > 0) s = Math.max(s, x[i]);',
        /a Math.max reduction needs a single update of 's' at the top level/,
      ],
      ['    s /= x[i];', /'s' is assigned with \/=/],
    ];
    for (const [body, message] of bad) {
      const hit = await expectError(loop(body), 'PARAD1307', 6);
      expect(hit.message).toMatch(message);
      expect(hit.message).toContain(
        "A reduction updates 's' only with s += e, s -= e, s *= e, s = Math.max(s, e) or s = Math.min(s, e)",
      );
    }
  });

  test('parameter types', async () => {
    await expectError('  y[0] = 1;', 'PARAD1006', 3, '(y: Float64Array, z: number): void');
    await expectError('  y[0] = 1;', 'PARAD1006', 3, '(y: any): void');
  });

  test('return types and missing return', async () => {
    await expectError('  y[0] = 1;', 'PARAD1008', 3, '(y: Float64Array): number');
    await expectError('  y[0] = 1;', 'PARAD1111', 3, '(y: Float64Array): f64');
    await expectError('  return 1;', 'PARAD1110', 4, '(y: Float64Array): void');
  });

  test('@nodiff of an unknown parameter', async () => {
    const src = `${header}/** @kernel @nodiff q */\nexport function k(y: Float64Array): void {\n  y[0] = 1;\n}\n`;
    const r = await compile(src, { fileName: 'k.ts' });
    expect(r.diagnostics.map((d) => d.code)).toContain('PARAD1007');
  });

  test('location, columns and code frame', async () => {
    const d = await expectError('  let i = 0;\n  while (i < n) { i++; }', 'PARAD1101', 5);
    expect(d.column).toBe(3);
    const text = formatDiagnostic(d, (await kernel('  let i = 0;\n  while (i < n) { i++; }')).src);
    expect(text).toMatch(/^k\.ts:5:3 - error PARAD1101: a while loop is not supported in kernels/);
    expect(text).toContain('> 5 |   while (i < n) { i++; }');
    expect(text).toMatch(/\|   \^{5,}/);
  });

  test('every problem in a file is reported in one run', async () => {
    const { result } = await kernel('  let i = 0;\n  while (i < n) { i++; }\n  a = 1;\n  y[0] = foo(1);');
    expect(result.diagnostics.map((d) => d.code)).toEqual(['PARAD1101', 'PARAD1303', 'PARAD1206']);
  });

  test('float division in an index warns (PARAD1210), integer division does not', async () => {
    const warn = await kernel('  for (let i = 0; i < n; i++) {\n    y[i] = x[i / 2];\n  }');
    expect(warn.result.diagnostics.map((d) => [d.code, d.severity, d.line])).toEqual([['PARAD1210', 'warning', 5]]);
    expect(warn.result.code).toBeDefined();
    const ok = await kernel(
      '  for (let i = 0; i < n; i++) {\n    y[i] = x[(i / 2) | 0] + x[i >> 1] + x[Math.floor(i / 2)];\n  }',
    );
    expect(ok.result.diagnostics).toEqual([]);
  });

  test('a bound reading an array length may be used while the body writes that array', async () => {
    const { result } = await kernel('  for (let i = 0; i < y.length; i++) {\n    y[i] = 2 * x[i];\n  }');
    expect(result.diagnostics).toEqual([]);
  });

  test('a file without kernels is an error: no module', async () => {
    for (const src of ['', 'export function f() {}\n']) {
      const r = await compile(src, { fileName: 'none.ts' });
      expect(r.diagnostics.map((d) => [d.code, d.severity, d.line])).toEqual([['PARAD1010', 'error', 1]]);
      expect(r.diagnostics[0].message).toMatch(
        /no kernels in this file: mark exported functions with a \/\*\* @kernel \*\//,
      );
      expect(r.code).toBeUndefined();
    }
  });
});

describe('syntax errors', () => {
  // TypeScript's parser diagnostics, located, before lowering (no follow-up errors from its recovery)
  const cases: [string, string, number, number, RegExp][] = [
    [
      'a missing parenthesis',
      '  for (let i = 0; i < n; i++ {\n    y[i] = x[i];\n  }',
      4,
      30,
      /syntax error: '\)' expected \(TS1005\)/,
    ],
    [
      'a missing operand',
      '  for (let i = 0; i < n; i++) {\n    y[i] = x[i] * ;\n  }',
      5,
      19,
      /syntax error: Expression expected \(TS1109\)/,
    ],
    [
      'a stray closing brace',
      '  for (let i = 0; i < n; i++) {\n    y[i] = x[i];\n  }}',
      7,
      1,
      /syntax error: Declaration or statement expected \(TS1128\)/,
    ],
    ['an unterminated string', "  y[0] = 'a;", 4, 13, /syntax error: Unterminated string literal \(TS1002\)/],
  ];
  test.each(cases)('%s', async (_name, body, line, column, message) => {
    const { result, src } = await kernel(body);
    expect(result.code).toBeUndefined();
    const shown = result.diagnostics.map((d) => formatDiagnostic(d, src));
    expect(
      result.diagnostics.map((d) => d.code),
      shown.join('\n'),
    ).toEqual(['PARAD1000']);
    const [d] = result.diagnostics;
    expect([d.severity, d.line, d.column]).toEqual(['error', line, column]);
    expect(d.message).toMatch(message);
    expect(shown[0]).toContain(`> ${line} |`);
  });

  test('every syntax error of a file is reported', async () => {
    const { result } = await kernel('  y[0] = x[0] * ;\n  y[1] = (x[1];');
    expect(result.diagnostics.map((d) => [d.code, d.line])).toEqual([
      ['PARAD1000', 4],
      ['PARAD1000', 5],
    ]);
  });

  test('a syntax error in a kernel file a layer imports is an error in that file, the import its second location', async () => {
    const files: Record<string, string> = {
      'k.ts': `${header}/** @kernel */\nexport function scale(y: Float64Array, x: Float64Array, n: i32): void {\n  for (let i = 0; i < n; i++ {\n    y[i] = 2 * x[i];\n  }\n}\n`,
    };
    const src = `${header}import { scale } from './k.js';\n/** @layer */\nexport function L(y: Float64Array, x: Float64Array, n: i32): void {\n  scale(y, x, n);\n}\n`;
    const r = await compile(src, {
      fileName: 'l.ts',
      resolveImport: (spec) => (spec === './k.js' ? { fileName: 'k.ts', source: files['k.ts'] } : undefined),
    });
    expect(r.code).toBeUndefined();
    const d = r.diagnostics.find((x) => x.file === 'k.ts');
    expect(d).toMatchObject({
      code: 'PARAD1000',
      line: 4,
      column: 30,
      related: [{ file: 'l.ts', line: 2, column: 10, message: 'imported here' }],
    });
    expect(d?.message).toMatch(/syntax error: '\)' expected/);
    // printed with both places, each with its code frame (l.ts's text is not k.ts's: no context lines from it)
    expect(formatDiagnostic(d!, src).split('\n')).toEqual([
      `k.ts:4:30 - error PARAD1000: ${d!.message}`,
      '> 4 |   for (let i = 0; i < n; i++ {',
      '    |                              ^',
      '  l.ts:2:10 - note: imported here',
      "  > 2 | import { scale } from './k.js';",
      '      |          ^^^^^',
    ]);
  });

  test('an imported kernel named like a function of the importer is located at the imported one, the other and the import next', async () => {
    const lib = `${header}/** @kernel */\nexport function scale(y: Float64Array, x: Float64Array, n: i32): void {\n  for (let i = 0; i < n; i++) y[i] = 3 * x[i];\n}\n/** @layer */\nexport function twice(y: Float64Array, x: Float64Array, n: i32): void {\n  scale(y, x, n);\n}\n`;
    const src = `${header}import { twice } from './lib.js';\n/** @kernel */\nexport function scale(y: Float64Array, x: Float64Array, n: i32): void {\n  for (let i = 0; i < n; i++) y[i] = 2 * x[i];\n}\n/** @layer */\nexport function L(y: Float64Array, x: Float64Array, n: i32): void {\n  twice(y, x, n);\n  scale(y, x, n);\n}\n`;
    const r = await compile(src, {
      fileName: 'main.ts',
      resolveImport: (spec) => (spec === './lib.js' ? { fileName: 'lib.ts', source: lib } : undefined),
    });
    expect(r.code).toBeUndefined();
    const d = r.diagnostics.find((x) => x.code === 'PARAD1408');
    expect(d).toMatchObject({ severity: 'error', file: 'lib.ts', line: 3 });
    expect(d!.message).toMatch(/'scale' of lib\.ts has the name of a function of main\.ts/);
    expect(d!.related?.map((x) => `${x.file}:${x.line} ${x.message}`)).toEqual([
      'main.ts:4 the function of main.ts',
      'main.ts:2 imported here',
    ]);
  });

  test('a race in a kernel file a layer imports (two files deep) is located in that file, with each import as a further location', async () => {
    const files: Record<string, string> = {
      'k/race.ts': `${header}/** @kernel */\nexport function race(y: Float64Array, x: Float64Array, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n    y[0] = x[i];\n  }\n}\n`,
      'k/mid.ts': `${header}import { race } from './race.js';\n/** @layer */\nexport function mid(y: Float64Array, x: Float64Array, n: i32): void {\n  race(y, x, n);\n}\n`,
    };
    const src = `${header}\nimport { mid } from './k/mid.js';\n/** @layer */\nexport function top(y: Float64Array, x: Float64Array, n: i32): void {\n  mid(y, x, n);\n}\n`;
    const resolveImport = (spec: string, from: string) => {
      const f = `${from.includes('/') ? `${from.slice(0, from.lastIndexOf('/'))}/` : ''}${spec.replace(/^\.\//, '').replace(/\.js$/, '.ts')}`;
      return files[f] ? { fileName: f, source: files[f] } : undefined;
    };
    const r = await compile(src, { fileName: 'top.ts', resolveImport });
    expect(r.code).toBeUndefined();
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'PARAD2001', file: 'k/race.ts', line: 5, column: 3 });
    expect(errors[0].lineText).toBe('  for (let i = 0; i < n; i++) {');
    expect(errors[0].related?.map((x) => `${x.file}:${x.line}:${x.column} ${x.message} ${x.lineText.trim()}`)).toEqual([
      "k/mid.ts:2:10 imported here import { race } from './race.js';",
      "top.ts:3:10 imported here import { mid } from './k/mid.js';",
    ]);
    const shown = formatDiagnostic(errors[0], src);
    expect(shown).toMatch(/^k\/race\.ts:5:3 - error PARAD2001: this @parallel loop of 'race' is not parallel/);
    expect(shown).toContain('  k/mid.ts:2:10 - note: imported here\n  > 2 | import { race }');
    expect(shown).toContain('  top.ts:3:10 - note: imported here\n  > 3 | import { mid }');
  });
});

describe('accepted forms', () => {
  test.each([
    [
      'sibling loops reuse a loop variable',
      '  for (let i = 0; i < n; i++) { y[i] = x[i]; }\n  for (let i = 0; i < n; i++) { y[i] *= 2; }',
    ],
    [
      'sibling blocks reuse a local name',
      '  for (let i = 0; i < n; i++) { const t = x[i]; y[i] = t; }\n  for (let j = 0; j < n; j++) { const t = y[j]; y[j] = t * t; }',
    ],
    ['down-counting loop with step', '  for (let i = n - 1; i >= 0; i -= 3) { y[i] = x[i]; }'],
    ['<= bound and constant step', '  for (let i = 0; i <= n - 2; i += 2) { y[i] = x[i + 1]; }'],
    ['integer index arithmetic', '  for (let i = 0; i < n; i++) { y[i] = x[(i * 7 + 3) % n] + x[(i >> 1) | 0]; }'],
    [
      'ternaries, logic and comparisons',
      '  for (let i = 0; i < n; i++) { y[i] = x[i] > 0.5 && !(i === 2) || i < 1 ? x[i] : -x[i]; }',
    ],
    ['Math constants and length', '  for (let i = 0; i < x.length; i++) { y[i] = Math.PI * x[i] + Math.E; }'],
    [
      'typed locals',
      '  const m: i32 = n - 1;\n  let s: f64 = 0;\n  for (let i = 0; i < m; i++) { s += x[i]; }\n  y[0] = s;',
    ],
  ])('%s', async (_name, body) => {
    const { result, src } = await kernel(body);
    expect(result.diagnostics.map((d) => formatDiagnostic(d, src))).toEqual([]);
    expect(result.code).toContain('export function k_b(');
  });
});

describe('pragmas and JSDoc tags', () => {
  const codes = async (body: string, sig?: string) => {
    const { result, src } = await kernel(body, sig);
    return {
      result,
      src,
      list: result.diagnostics.map((d) => [d.code, d.severity, d.line, d.column, d.message] as const),
    };
  };
  const LOOP = '  for (let i = 0; i < n; i++) {\n    y[i] = a * x[i];\n  }';

  test('a misspelt pragma before a loop is an error with a suggestion', async () => {
    const { list, result } = await codes(`  // @paralel\n${LOOP}`);
    expect(list).toEqual([['PARAD1501', 'error', 4, 6, 'unknown pragma @paralel: did you mean @parallel?']]);
    expect(result.code).toBeUndefined();
    expect((await codes(`  // @Parallel\n${LOOP}`)).list[0][4]).toBe(
      'unknown pragma @Parallel: did you mean @parallel?',
    );
  });

  test('another // @word in a kernel is a warning; the kernel still compiles', async () => {
    const { list, result } = await codes(`  // @todo vectorize\n${LOOP}`);
    expect(list).toEqual([
      [
        'PARAD1501',
        'warning',
        4,
        6,
        'unknown pragma @todo is ignored (kernels know // @parallel on the line before a for loop)',
      ],
    ]);
    expect(result.code).toContain('export function k_b(');
  });

  test('a layer pragma in a kernel is an error', async () => {
    expect((await codes(`  // @checkpoint\n${LOOP}`)).list).toEqual([
      ['PARAD1501', 'error', 4, 6, '@checkpoint is a pragma of layers (docs/layers.md); kernels have // @parallel'],
    ]);
  });

  test('@parallel that is not on the line right before a for is a warning', async () => {
    expect((await codes(`  // @parallel\n\n${LOOP}`)).list).toEqual([
      [
        'PARAD1504',
        'warning',
        4,
        6,
        '// @parallel applies to the for loop on the line right after it: this one is ignored',
      ],
    ]);
    expect((await codes(`  // @parallel\n  y[0] = 1;`)).list.map((d) => d[0])).toEqual(['PARAD1504']);
  });

  test('unknown @parallel options and strategies are errors at the option', async () => {
    expect((await codes(`  // @parallel adjoint=fast\n${LOOP}`)).list).toEqual([
      [
        'PARAD1502',
        'error',
        4,
        16,
        "unknown adjoint strategy 'fast': one of direct, gather, reduction, atomic, versioned",
      ],
    ]);
    expect((await codes(`  // @parallel adjoint=gahter\n${LOOP}`)).list[0][4]).toMatch(
      /unknown adjoint strategy 'gahter' \(did you mean gather\?\)/,
    );
    expect((await codes(`  // @parallel exclusive_read(x)\n${LOOP}`)).list[0]).toEqual([
      'PARAD1502',
      'error',
      4,
      16,
      "unknown @parallel option 'exclusive_read(x)' (did you mean exclusive-read?); the options are exclusive-read(<arrays>), adjoint=<strategy> and workgroup=<size>",
    ]);
    expect((await codes(`  // @parallel fast\n${LOOP}`)).list.map((d) => d[0])).toEqual(['PARAD1502']);
    expect((await codes(`  // @parallel workgroup=8y\n${LOOP}`)).list[0][4]).toMatch(
      /^workgroup=8y: write the workgroup size as workgroup=64/,
    );
  });

  test('exclusive-read names array parameters: anything else is an error at the name', async () => {
    const sig = '(y: Float64Array, x: Float64Array, idx: Int32Array, a: f64, n: i32): void';
    const body = '  for (let i = 0; i < n; i++) {\n    y[i] = a * x[idx[i]];\n  }';
    const r = await codes(`  // @parallel exclusive-read(nothere, idz, a)\n${body}`, sig);
    expect(r.list).toEqual([
      [
        'PARAD1503',
        'error',
        4,
        31,
        "exclusive-read(nothere): 'nothere' is not a parameter of this kernel; name the array parameters whose reads are exclusive",
      ],
      [
        'PARAD1503',
        'error',
        4,
        40,
        "exclusive-read(idz): 'idz' is not a parameter of this kernel; name the array parameters whose reads are exclusive (did you mean idx?)",
      ],
      [
        'PARAD1503',
        'error',
        4,
        45,
        "exclusive-read(a): 'a' is a scalar parameter; name the array parameters whose reads are exclusive",
      ],
    ]);
    expect(formatDiagnostic(r.result.diagnostics[0], r.src)).toContain(`|${' '.repeat(31)}^^^^^^^`);
  });

  test('valid pragmas are accepted silently', async () => {
    const sig = '(y: Float64Array, x: Float64Array, idx: Int32Array, a: f64, n: i32): void';
    const body = '  for (let i = 0; i < n; i++) {\n    y[idx[i]] = a * x[i];\n  }';
    for (const pragma of [
      '@parallel',
      '@parallel exclusive-read(idx)',
      '@parallel exclusive-read(idx, x) adjoint=gather',
      '@parallel workgroup=64',
      '@parallel adjoint=versioned workgroup=4x16',
    ]) {
      const { list } = await codes(`  // ${pragma}\n${body}`, sig);
      expect(
        list.filter((d) => /PARAD15/.test(d[0])),
        pragma,
      ).toEqual([]);
    }
    // ordinary comments, and an @ later in a comment, are not pragmas
    expect(
      (await codes(`  // scale by a (see @parallel in the docs)\n  // e-mail: someone@example.org\n${LOOP}`)).list,
    ).toEqual([]);
    // TypeScript's comment directives are not pragmas
    expect((await codes(`  // @ts-ignore\n  y[0] = a;\n  // @ts-expect-error\n  y[1] = a;`)).list).toEqual([]);
  });

  test('misspelt parad JSDoc tags are errors; other JSDoc tags are left alone', async () => {
    const src = `${header}/**\n * @kernel\n * @nodif a\n * @param y the output\n * @remarks fine\n * @customTag fine\n */\nexport function k(y: Float64Array, a: f64): void {\n  y[0] = a;\n}\n/** @kernal */\nexport function notKernel(y: Float64Array): void {\n  y[0] = 1;\n}\n`;
    const r = await compile(src, { fileName: 'k.ts' });
    expect(r.diagnostics.map((d) => [d.code, d.severity, d.line, d.column, d.message])).toEqual([
      ['PARAD1501', 'error', 4, 4, 'unknown JSDoc tag @nodif: did you mean @nodiff?'],
      ['PARAD1501', 'error', 12, 5, "unknown JSDoc tag @kernal: did you mean @kernel? ('notKernel' is not transpiled)"],
    ]);
  });

  test('layers: a misspelt @checkpoint is an error; a @parallel loop is reported once (PARAD1401)', async () => {
    const layer = (pragma: string) =>
      `${header}/** @kernel */\nexport function s(y: Float64Array, n: i32): void {\n  for (let i = 0; i < n; i++) {\n    y[i] = 2 * y[i];\n  }\n}\n/** @layer */\nexport function L(y: Float64Array, n: i32, steps: i32): void {\n  // ${pragma}\n  for (let t = 0; t < steps; t++) {\n    s(y, n);\n  }\n}\n`;
    const diags = async (pragma: string) =>
      (await compile(layer(pragma), { fileName: 'l.ts' })).diagnostics.map((d) => [d.code, d.line, d.message]);
    expect(await diags('@chekpoint slots=2')).toEqual([
      ['PARAD1501', 10, 'unknown pragma @chekpoint: did you mean @checkpoint?'],
    ]);
    expect(await diags('@checkpoint slots=2')).toEqual([]);
    expect((await diags('@parallel')).map((d) => d[0])).toEqual(['PARAD1401']);
    expect((await diags('@checkpoint slot=2')).map((d) => d[0])).toEqual(['PARAD1410']);
  });
});

describe('messages that say what is wrong', () => {
  test('-Infinity and Infinity are constants', async () => {
    const { result, src } = await kernel(
      '  let m = -Infinity;\n  for (let i = 0; i < n; i++) {\n    m = Math.max(m, x[i]);\n  }\n  y[0] = Math.min(m, Infinity);',
    );
    expect(result.diagnostics.map((d) => formatDiagnostic(d, src))).toEqual([]);
    expect(result.code).toContain('let m = -Infinity;');
  });

  test('x ** e is Math.pow; constant exponents fold in the derivatives; **= assigns', async () => {
    const { result, src } = await kernel(
      '  for (let i = 0; i < n; i++) {\n    y[i] = x[i] ** 2 + a ** x[i];\n    y[i] **= 3;\n  }',
    );
    expect(result.diagnostics.map((d) => formatDiagnostic(d, src))).toEqual([]);
    const tangent = /export function k_d[\s\S]*?\n}\n/.exec(result.code!)![0];
    expect(tangent).toContain('2 * x[i] * xd[i]');
    expect(tangent).toContain('3 * Math.pow(y[i], 2) * yd[i]');
    expect(tangent).toContain('y[i] = Math.pow(y[i], 3);');
    // inside an expression, **= is an assignment like the others
    await expectError('  let t = a;\n  y[0] = (t **= 2);', 'PARAD1202', 5);
  });

  test("a scalar's or a string's .length: the message says only arrays have one", async () => {
    const d = await expectError('  y[0] = n.length;', 'PARAD1205', 4);
    expect(d.message).toBe("'n.length': only array parameters have a length in kernels, and 'n' is a scalar");
    // a parameter of an unsupported type is reported once, at its type, not again at each use
    const { result } = await kernel(
      '  for (let i = 0; i < mode.length; i++) {\n    y[i] = x[i];\n  }',
      '(y: Float64Array, x: Float64Array, mode: string): void',
    );
    expect(result.diagnostics.map((x) => [x.code, x.line])).toEqual([['PARAD1006', 3]]);
  });

  test('out[0] += x[i] in a @parallel loop: one race, not one per access kind', async () => {
    const { result } = await kernel('  // @parallel\n  for (let i = 0; i < n; i++) {\n    y[0] += x[i];\n  }');
    expect(result.diagnostics.map((d) => [d.code, d.line])).toEqual([['PARAD2001', 5]]);
    expect(result.diagnostics[0].message).toMatch(/both write y\[0\]/);
  });
});
