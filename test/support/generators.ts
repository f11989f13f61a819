/**
 * Random kernel generators shared by the property tests (test/property.test.ts,
 * test/gather-property.test.ts, test/layer-property.test.ts) and the differential GPU fuzz
 * (test/gpu-fuzz.test.ts): kernel sources in the kernel language, as fast-check arbitraries.
 */
import fc from 'fast-check';

type Gen = (leaf: fc.Arbitrary<string>) => fc.Arbitrary<string>;

/** Unary forms kept inside each function's smooth domain for inputs of moderate size. */
const UNARY: ((e: string) => string)[] = [
  (e) => `(-${e})`,
  (e) => `Math.sin(${e})`,
  (e) => `Math.cos(${e})`,
  (e) => `Math.tan(0.3 * Math.tanh(${e}))`,
  (e) => `Math.asin(0.8 * Math.tanh(${e}))`,
  (e) => `Math.acos(0.8 * Math.tanh(${e}))`,
  (e) => `Math.atan(${e})`,
  (e) => `Math.sinh(Math.tanh(${e}))`,
  (e) => `Math.cosh(Math.tanh(${e}))`,
  (e) => `Math.tanh(${e})`,
  (e) => `Math.exp(Math.tanh(${e}))`,
  (e) => `Math.expm1(Math.tanh(${e}))`,
  (e) => `Math.log(1.5 + Math.tanh(${e}))`,
  (e) => `Math.log1p(0.5 + Math.tanh(${e}))`,
  (e) => `Math.log2(1.5 + Math.tanh(${e}))`,
  (e) => `Math.log10(1.5 + Math.tanh(${e}))`,
  (e) => `Math.sqrt(1 + ${e} * ${e})`,
  (e) => `Math.cbrt(2 + Math.tanh(${e}))`,
  (e) => `Math.abs(3 + Math.tanh(${e}))`,
  (e) => `(${e} > -100 ? ${e} : 0)`,
];
const BINARY: ((a: string, b: string) => string)[] = [
  (a, b) => `(${a} + ${b})`,
  (a, b) => `(${a} - ${b})`,
  (a, b) => `(${a} * ${b})`,
  (a, b) => `(${a} / (1.5 + Math.tanh(${b})))`,
  (a, b) => `Math.atan2(${a}, 2 + Math.tanh(${b}))`,
  (a, b) => `Math.pow(1.5 + Math.tanh(${a}), ${b})`,
  (a, b) => `Math.hypot(1 + ${a} * ${a}, ${b})`,
  (a, b) => `Math.max(${a}, ${b} + 0.01)`,
  (a, b) => `Math.min(${a}, ${b} + 0.01)`,
];

export const expr: Gen = (leaf) =>
  fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.tuple(fc.integer({ min: 0, max: UNARY.length - 1 }), tie('e')).map(([k, e]) => UNARY[k](e)),
      fc.tuple(fc.integer({ min: 0, max: BINARY.length - 1 }), tie('e'), tie('e')).map(([k, a, b]) => BINARY[k](a, b)),
    ),
  })).e;

export const header = "import type { f64, i32 } from 'parad';\n";

/** A parallel kernel: `steps` const locals, each an expression of inputs and earlier locals. */
export const parallelKernel = fc.integer({ min: 1, max: 4 }).chain((steps) => {
  const lines: fc.Arbitrary<string>[] = [];
  for (let s = 0; s < steps; s++) {
    const leaves = [
      'x[i]',
      'x[i + 1]',
      'w[0]',
      'w[1]',
      'a',
      '0.5',
      '(i % 3)',
      ...Array.from({ length: s }, (_, k) => `t${k}`),
    ];
    lines.push(expr(fc.constantFrom(...leaves)).map((e) => `    const t${s} = ${e};`));
  }
  const outLeaves = ['x[i]', 'a', ...Array.from({ length: steps }, (_, k) => `t${k}`)];
  return fc
    .tuple(fc.tuple(...lines), expr(fc.constantFrom(...outLeaves)))
    .map(
      ([ls, out]) =>
        `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, w: Float64Array, a: f64, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i++) {\n${ls.join('\n')}\n    y[i] = ${out} + 0.25 * y[i];\n  }\n}\n`,
    );
});

/** A sequential recurrence through a reassigned local, returning a float. */
export const sequentialKernel = fc
  .tuple(expr(fc.constantFrom('s', 'x[i]', 'a', 'y[i]')), expr(fc.constantFrom('s', 'x[i]', 'y[i]')))
  .map(
    ([update, write]) =>
      `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, a: f64, n: i32): f64 {\n  let s = a;\n  for (let i = 0; i < n; i++) {\n    s = 0.5 * Math.tanh(${update});\n    y[i] = ${write};\n  }\n  return s;\n}\n`,
  );

/**
 * Random programs with control flow: top-level locals, reassignments, sequential loops carrying
 * scalars and arrays (recurrences, in-place updates, branches on data), parallel loops reading
 * outer locals and updating in place. They stress the tape plan: pushes, flags, snapshots,
 * recomputation and stores.
 */
export const SIZE = 5;
export const smooth = (leaves: string[]) => expr(fc.constantFrom(...leaves)).map((e) => `0.5 * Math.tanh(${e})`);

type Ctx = { scalars: string[]; fresh: () => string };

const seqBody = (ctx: Ctx): fc.Arbitrary<string[]> => {
  const leaves = ['x[i]', 'y[i]', 'y[(i + 1) % n]', 'a', ...ctx.scalars];
  const stmt = fc.oneof(
    smooth(leaves).map((e) => [`y[i] = ${e};`]),
    smooth(leaves).map((e) => [`y[i] += ${e};`]),
    ctx.scalars.length
      ? fc.tuple(fc.constantFrom(...ctx.scalars), smooth(leaves)).map(([s, e]) => [`${s} = ${e};`])
      : smooth(leaves).map((e) => [`y[i] *= 1 + ${e};`]),
    fc
      .tuple(smooth(leaves), smooth(leaves), fc.double({ min: 0.3, max: 0.9, noNaN: true }))
      .map(([t, f, c]) => [
        `if (x[i] > ${c.toFixed(3)}) {`,
        `  y[i] = ${t};`,
        '} else {',
        `  y[i] = y[i] * ${f};`,
        '}',
      ]),
    smooth(leaves).map((e) => {
      const t = ctx.fresh();
      return [`const ${t} = ${e};`, `y[i] = y[i] * ${t} + ${t};`];
    }),
  );
  return fc.array(stmt, { minLength: 1, maxLength: 3 }).map((ss) => ss.flat());
};

const parBody = (ctx: Ctx): fc.Arbitrary<string[]> => {
  const leaves = ['x[i]', 'y[i]', 'x[(i + 2) % n]', 'a', ...ctx.scalars];
  return fc.tuple(smooth(leaves), smooth([...leaves, 'p'])).map(([e1, e2]) => {
    const p = ctx.fresh();
    return [`const ${p} = ${e1};`, `y[i] = ${e2.replaceAll(/\bp\b/g, p)};`];
  });
};

export const program = fc
  .tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 4 }),
    fc.boolean(),
  )
  .chain(([nScalars, shape, returns]) => {
    let counter = 0;
    const ctx: Ctx = { scalars: Array.from({ length: nScalars }, (_, k) => `s${k}`), fresh: () => `t${counter++}` };
    const parts: fc.Arbitrary<string[]>[] = [
      fc
        .tuple(...ctx.scalars.map(() => smooth(['a', 'x[0]', 'y[1]'])))
        .map((es) => es.map((e, k) => `let s${k} = ${e};`)),
    ];
    for (const kind of shape) {
      if (kind === 0)
        parts.push(seqBody(ctx).map((b) => ['for (let i = 0; i < n; i++) {', ...b.map((l) => `  ${l}`), '}']));
      else if (kind === 1)
        parts.push(
          parBody(ctx).map((b) => ['// @parallel', 'for (let i = 0; i < n; i++) {', ...b.map((l) => `  ${l}`), '}']),
        );
      else if (kind === 2)
        parts.push(
          fc
            .tuple(fc.constantFrom(...ctx.scalars), smooth(['a', 'x[1]', 'y[2]', ...ctx.scalars]))
            .map(([s, e]) => [`${s} = ${s} * ${e} + ${e};`]),
        );
      else
        parts.push(
          fc
            .tuple(fc.constantFrom(...ctx.scalars), smooth(['y[0]', ...ctx.scalars]))
            .map(([s, e]) => [`if (${s} > 0) {`, `  ${s} = ${e};`, '}']),
        );
    }
    if (returns) parts.push(smooth([...ctx.scalars, 'y[3]']).map((e) => [`return ${e};`]));
    return fc.tuple(...parts).map((ps) => {
      const body = ps
        .flat()
        .map((l) => `  ${l}`)
        .join('\n');
      return `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, a: f64, n: i32): ${returns ? 'f64' : 'void'} {\n${body}\n}\n`;
    });
  });

/**
 * A scalar reduction of a parallel loop (`+=`, `-=`, `*=`, `Math.max`, `Math.min`; kernel-language.md),
 * the loop also updating y in place, optionally inside a sequential loop (its adjoint's records on
 * the tape), the result returned through another expression.
 */
export const REDUCTION_OPS = ['+=', '-=', '*=', 'max', 'min'] as const;
export const reductionKernel = (ops: readonly (typeof REDUCTION_OPS)[number][] = REDUCTION_OPS) =>
  fc
    .tuple(fc.constantFrom(...ops), smooth(['x[i]', 'y[i]', 'a']), smooth(['x[i]', 't', 'a']), fc.boolean())
    .map(([op, e1, e2, timed]) => {
      const init = op === '*=' ? '1 + 0.1 * a' : op === '+=' || op === '-=' ? 'a' : '0.5 * a';
      const update =
        op === 'max' || op === 'min' ? `s = Math.${op}(s, ${e2});` : `s ${op} ${op === '*=' ? `0.5 + ${e2}` : e2};`;
      const loop = [
        'let s = ' + init + ';',
        '// @parallel',
        'for (let i = 0; i < n; i++) {',
        `  const t = ${e1};`,
        '  y[i] = t * y[i] + 0.1;',
        `  ${update}`,
        '}',
      ];
      const body = timed
        ? [
            'let total = 0;',
            'for (let r = 0; r < 2; r++) {',
            ...loop.map((l) => `  ${l}`),
            '  total += s * (r + 1);',
            '}',
            'return total * a + y[1];',
          ]
        : [...loop, 'return s * a + y[1];'];
      return `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, a: f64, n: i32): f64 {\n${body.map((l) => `  ${l}`).join('\n')}\n}\n`;
    });

const headerI32 = "import type { i32 } from 'parad';\n";
/** Arrays are long enough for every index the nests below produce (offsets keep them >= 0). */
export const LEN = 400;

const term = fc.record({
  a: fc.integer({ min: -2, max: 3 }),
  b: fc.integer({ min: 0, max: 2 }),
  c: fc.integer({ min: 0, max: 4 }),
});

/**
 * `x[a*i + b*k + c + 30]` in a 1-D nest over i (step 1 or 2) with an optional inner loop over k,
 * from 0 or (a window moving with i) from i - inner.
 */
export const oneD = fc
  .record({
    reads: fc.array(term, { minLength: 1, maxLength: 3 }),
    step: fc.constantFrom(1, 2),
    inner: fc.integer({ min: 0, max: 3 }),
    window: fc.boolean(),
  })
  .map(({ reads, step, inner, window }) => {
    const idx = (t: { a: number; b: number; c: number }) => `${t.a} * i${inner ? ` + ${t.b} * k` : ''} + ${t.c + 30}`;
    const e = reads.map((t) => `x[${idx(t)}]`).join(' * 0.5 + ');
    const body = inner
      ? `    let s = 0;\n    for (let k = ${window ? `i - ${inner}` : '0'}; k < ${window ? `i + ${inner}` : inner}; k++) {\n      s += ${e};\n    }\n    y[i] = s * s;`
      : `    const s = ${e};\n    y[i] = s * s;`;
    return `${headerI32}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, n: i32): void {\n  // @parallel\n  for (let i = 0; i < n; i += ${step}) {\n${body}\n  }\n}\n`;
  });

/** `x[(p*r + q)*W + u*c + v + kx]` in a 2-D nest over (r, c), W a parameter, optional inner kx. */
export const twoD = fc
  .record({
    reads: fc.array(
      fc.record({
        p: fc.integer({ min: 1, max: 2 }),
        q: fc.integer({ min: 0, max: 2 }),
        u: fc.integer({ min: 1, max: 2 }),
        v: fc.integer({ min: 0, max: 2 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    inner: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ reads, inner }) => {
    const idx = (t: { p: number; q: number; u: number; v: number }) =>
      `(${t.p} * r + ${t.q}) * W + ${t.u} * c + ${t.v}${inner ? ' + kx' : ''}`;
    const e = reads.map((t) => `x[${idx(t)}]`).join(' + ');
    const body = inner
      ? `      let s = 0;\n      for (let kx = 0; kx < ${inner}; kx++) {\n        s += ${e};\n      }\n      y[r * C + c] = Math.sin(s);`
      : `      y[r * C + c] = Math.sin(${e});`;
    return `${headerI32}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, R: i32, C: i32, W: i32): void {\n  // @parallel\n  for (let r = 0; r < R; r++) {\n    // @parallel\n    for (let c = 0; c < C; c++) {\n${body}\n    }\n  }\n}\n`;
  });

export const KERNELS = `import type { f64, i32 } from 'parad';
/** y += a x (in place). @kernel */
export function axpy(y: Float64Array, x: Float64Array, a: f64, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = y[i] + a * x[i];
}
/** y = tanh(x) (y write-only). @kernel */
export function squash(y: Float64Array, x: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
}
/** y = x ⊙ z. @kernel */
export function mul(y: Float64Array, x: Float64Array, z: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = x[i] * z[i];
}
/** y = x shifted by one (a stencil read). @kernel */
export function shift(y: Float64Array, x: Float64Array, n: i32): void {
  // @parallel
  for (let i = 0; i < n; i++) y[i] = 0.5 * x[i] + 0.5 * x[i > 0 ? i - 1 : i];
}
/** Σ x². @kernel */
export function sumsq(x: Float64Array, n: i32): f64 {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}
`;

/** Arrays a statement may use: the parameters p, q, the scratch s, the aliases a, b (a ↔ b swap). */
const ARRAYS = ['p', 'q', 's', 'a', 'b'];
/** a and b are p and s in some order: a call's arrays are distinct buffers whatever the order */
const conflict = (x: string, y: string) =>
  x === y ||
  ((x === 'a' || x === 'b') && (y === 'p' || y === 's')) ||
  ((y === 'a' || y === 'b') && (x === 'p' || x === 's'));
const distinct = (xs: string[]) => xs.every((x, i) => xs.slice(i + 1).every((y) => !conflict(x, y)));

const arrayArb = fc.constantFrom(...ARRAYS);
const callArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(arrayArb, arrayArb)
    .filter(([y, x]) => distinct([y, x]))
    .map(([y, x]) => `axpy(${y}, ${x}, k, n);`),
  fc
    .tuple(arrayArb, arrayArb)
    .filter(([y, x]) => distinct([y, x]))
    .map(([y, x]) => `squash(${y}, ${x}, n);`),
  fc
    .tuple(arrayArb, arrayArb, arrayArb)
    .filter(([y, x, z]) => distinct([y, x, z]))
    .map(([y, x, z]) => `mul(${y}, ${x}, ${z}, n);`),
  fc
    .tuple(arrayArb, arrayArb)
    .filter(([y, x]) => distinct([y, x]))
    .map(([y, x]) => `shift(${y}, ${x}, n);`),
  arrayArb.map((x) => `total += sumsq(${x}, n);`),
  fc
    .tuple(arrayArb, arrayArb)
    .filter(([y, x]) => distinct([y, x]))
    .map(([y, x]) => `${y}.set(${x});`),
  fc.constant('[a, b] = [b, a];'),
  arrayArb.map((x) => `total = sumsq(${x}, n);`),
  arrayArb.map((x) => `total += 0.5 * sumsq(${x}, n);`),
  arrayArb.map((x) => `total = -sumsq(${x}, n) / 3;`),
  arrayArb.map((x) => `${x}.fill(0.25);`),
);
/** a scratch array of its own (declared in a loop when the statement is in one): HH is made unique below */
const scratchArb = fc
  .tuple(arrayArb, arrayArb)
  .filter(([y, x]) => distinct([y, x]))
  .map(([y, x]) => `const HH = new Float64Array(n); squash(HH, ${x}, n); axpy(${y}, HH, k, n);`);
/** an if statement on a value (n = 5: one branch or the other runs), plain statements in its branches */
const ifArb = fc
  .tuple(fc.constantFrom(3, 7), fc.array(callArb, { minLength: 1, maxLength: 3 }), fc.array(callArb, { maxLength: 2 }))
  .map(([at, yes, no]) => [
    `if (n > ${at}) {`,
    ...yes.map((l) => `  ${l}`),
    ...(no.length ? ['} else {', ...no.map((l) => `  ${l}`)] : []),
    '}',
  ]);
const stmtArb = fc.oneof(
  { weight: 6, arbitrary: callArb.map((c) => [c]) },
  { weight: 1, arbitrary: scratchArb.map((c) => [c]) },
  { weight: 1, arbitrary: ifArb },
);

const stmtsArb = (depth: number): fc.Arbitrary<string[]> =>
  fc
    .array(
      depth > 0 ? fc.oneof({ weight: 4, arbitrary: stmtArb }, { weight: 1, arbitrary: loopArb(depth - 1) }) : stmtArb,
      { minLength: 1, maxLength: 4 },
    )
    .map((xs) => xs.flat());

const loopArb = (depth: number): fc.Arbitrary<string[]> =>
  fc
    .tuple(
      fc.integer({ min: 1, max: 5 }),
      fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      stmtsArb(depth),
      fc.constantFrom('t', 'u'),
    )
    .map(([T, slots, body, v]) => [
      ...(slots === undefined ? [] : [`// @checkpoint slots=${slots}`]),
      `for (let ${v}${depth} = 0; ${v}${depth} < ${T}; ${v}${depth}++) {`,
      ...body.map((l) => `  ${l}`),
      '}',
    ]);

/** Each scratch statement gets its own name (scratch arrays are distinct throughout a layer). */
const unique = (lines: string[]) => {
  let k = 0;
  return lines.flatMap((l) => {
    if (!l.includes('HH')) return [l];
    const name = `h${k++}`;
    const indent = /^\s*/.exec(l)![0];
    return l
      .trim()
      .replaceAll('HH', name)
      .split('; ')
      .map((part, i, all) => `${indent}${part}${i < all.length - 1 ? ';' : ''}`);
  });
};

export const layerArb = stmtsArb(2)
  .map(unique)
  .map(
    (body) => `${KERNELS}
/** @layer */
export function L(p: Float64Array, q: Float64Array, k: f64, n: i32): f64 {
  const s = new Float64Array(n);
  s.set(q);
  let a: Float64Array = p;
  let b: Float64Array = s;
  let total = 0;
${body.map((l) => `  ${l}`).join('\n')}
  total += sumsq(p, n);
  return total;
}
`,
  );

/**
 * A `@parallel` loop over rows whose body mixes scalars and inner sequential loops over the
 * columns: sums, running max/min, reassignments (`s = s / cols`), a centred value taped in an inner
 * loop (`const d = x[…] - s`), branches on scalars, then an output loop. The shapes of a layer
 * norm or a row softmax: on WebGPU the tape of one iteration holds scalars and inner-loop values.
 * Kernel `k(y, x, w, rows, cols)`, x and y rows×cols, w cols.
 */
export const rowKernel = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 5 }).chain((kinds) => {
  const xr = 'x[r * cols + j]';
  const parts: fc.Arbitrary<string[]>[] = [];
  let declared = 0;
  for (const kind of kinds) {
    const scalars = Array.from({ length: declared }, (_, i) => `s${i}`);
    const inner = [xr, 'w[j]', ...scalars];
    if (kind === 0 || !scalars.length) {
      const s = `s${declared++}`;
      parts.push(
        smooth(inner).map((e) => [`let ${s} = 0;`, 'for (let j = 0; j < cols; j++) {', `  ${s} += ${e};`, '}']),
      );
    } else if (kind === 1) {
      const s = `s${declared++}`;
      parts.push(
        fc
          .tuple(fc.constantFrom('max', 'min'), smooth(inner))
          .map(([f, e]) => [
            `let ${s} = x[r * cols];`,
            'for (let j = 1; j < cols; j++) {',
            `  ${s} = Math.${f}(${s}, ${e});`,
            '}',
          ]),
      );
    } else if (kind === 2) {
      parts.push(fc.constantFrom(...scalars).map((s) => [`${s} = ${s} / cols;`]));
    } else if (kind === 3) {
      parts.push(
        fc
          .tuple(fc.constantFrom(...scalars), smooth([...scalars, 'w[0]']))
          .map(([s, e]) => [`${s} = ${s} * ${e} + ${e};`]),
      );
    } else if (kind === 4) {
      const s = `s${declared++}`;
      parts.push(
        fc
          .tuple(fc.constantFrom(...scalars), smooth(['d', ...inner]))
          .map(([c, e]) => [
            `let ${s} = 0;`,
            'for (let j = 0; j < cols; j++) {',
            `  const d = ${xr} - ${c};`,
            `  ${s} += d * ${e};`,
            '}',
          ]),
      );
    } else {
      parts.push(
        fc
          .tuple(fc.constantFrom(...scalars), fc.constantFrom(...scalars), smooth(scalars), smooth(scalars))
          .map(([c, t, e1, e2]) => [`if (${c} > 0.1) {`, `  ${t} = ${e1};`, '} else {', `  ${t} = ${t} * ${e2};`, '}']),
      );
    }
  }
  const scalars = Array.from({ length: declared }, (_, i) => `s${i}`);
  parts.push(
    fc
      .tuple(smooth([xr, ...scalars]), smooth(['d', 'w[j]', ...scalars]))
      .map(([e1, e2]) => [
        'for (let j = 0; j < cols; j++) {',
        `  const d = ${e1};`,
        `  y[r * cols + j] = ${e2} + 0.25 * y[r * cols + j];`,
        '}',
      ]),
  );
  return fc.tuple(...parts).map(
    (ps) =>
      `${header}/** @kernel */\nexport function k(y: Float64Array, x: Float64Array, w: Float64Array, rows: i32, cols: i32): void {\n  // @parallel\n  for (let r = 0; r < rows; r++) {\n${ps
        .flat()
        .map((l) => `    ${l}`)
        .join('\n')}\n  }\n}\n`,
  );
});
