/**
 * `K_d` of a `*=` reduction of a parallel loop on the GPU (ir/reduction.ts). In JavaScript the
 * tangent follows the running product iteration by iteration (`ṡ = eᵢ·ṡ + s·ėᵢ; s = s·eᵢ`); on the
 * GPU the iterations run at once, so the tangent of s = s₀·Π eᵢ is written as reductions the
 * backend has (workgroup trees of `+` and `*`), in the same pass as the product itself:
 *
 *   z = #{i : eᵢ = 0}            (a `+` reduction)
 *   P = Π_{eᵢ ≠ 0} eᵢ            (a `*` reduction)
 *   S = Σ_{eᵢ ≠ 0} ėᵢ / eᵢ       (a `+` reduction)
 *   Z = Σ_{eᵢ = 0} ėᵢ            (a `+` reduction: the zero factor's tangent when there is one)
 *
 * then ṡ = ṡ₀·P + s₀·P·S when no factor is zero, s₀·P·Z when exactly one is (the product of the
 * others times the zero factor's tangent), 0 when two or more are. This is exact with zeros in the
 * data (the division only ever divides by a nonzero factor), the same zero-count scheme as the
 * adjoint's coefficients (differentiate/adjoint.ts: ēᵢ += s₀·Π_{j≠i} eⱼ·s̄). What it shares with
 * that scheme: P is the product of the nonzero factors, which can underflow (f32: below ~1e-38)
 * where the product of all but one factor would not (a factor far below the others); and ėᵢ/eᵢ
 * overflows for a subnormal eᵢ.
 */
import type { Expr, ForLoop, Stmt } from '../../ir/types.js';
import { bin, cond, num, readsOf, substitute, v } from '../../ir/build.js';
import { forEachStmt, freshNames, mapParallelLoops, ownExprs } from '../../ir/walk.js';
import { nestOf } from '../../ir/reduction.js';
import type { Rewrite } from './unsupported.js';

/**
 * The tangent body with each parallel nest's `*=` reductions (`products`: the reduced names) in
 * the form described above; `d` names the tangent of a scalar.
 */
export function productTangents(body: Stmt[], products: Set<string>, d: (name: string) => string): Rewrite {
  const fresh = freshNames(body);
  // why the GPU cannot have a product's tangent (the first reason found)
  let why: string | undefined;
  /** The nest with the products of its innermost body rewritten, and the tangents' assignments after it. */
  const nest = (loop: ForLoop): Stmt[] => {
    const loops = nestOf(loop);
    const inner = loops[loops.length - 1];
    const before: Stmt[] = [];
    const after: Stmt[] = [];
    let body = inner.body;
    for (const p of products) {
      const r = rewrite(body, p);
      if (!r) continue;
      body = r.body;
      before.push(...r.before);
      after.push(r.after);
    }
    if (!after.length) return [loop];
    // the nest rebuilt from the inside out with the new innermost body
    let rebuilt: ForLoop = { ...inner, body };
    for (let i = loops.length - 2; i >= 0; i--) rebuilt = { ...loops[i], body: [rebuilt] };
    return [...before, rebuilt, ...after];
  };
  /** One product's update and tangent in `body` (the innermost body of a nest) rewritten, or undefined if the nest does not reduce it. */
  const rewrite = (body: Stmt[], p: string): { body: Stmt[]; before: Stmt[]; after: Stmt } | undefined => {
    const pd = d(p);
    const unsupported = (reason: string): undefined => {
      why ??= `the tangent of the *= reduction of '${p}' on the GPU: ${reason}`;
      return undefined;
    };
    const updates = body.filter((t) => t.k === 'assign' && t.target.k === 'var' && t.target.name === p);
    const tangents = body.filter((t) => t.k === 'assign' && t.target.k === 'var' && t.target.name === pd);
    if (!updates.length) return undefined;
    // an inactive product (no tangent): the reduction alone
    if (!tangents.length) return undefined;
    const update = updates[0];
    const tangent = tangents[0];
    if (updates.length !== 1 || tangents.length !== 1 || update.k !== 'assign' || tangent.k !== 'assign')
      return unsupported(`'${p}' or '${pd}' is not updated once`);
    // the tangent function writes `ṗ = …; p = p * e` (the linearization of p * e, then the product)
    const value = update.value;
    const factor =
      update.op === '=' && value.k === 'binary' && value.op === '*' && value.l.k === 'var' && value.l.name === p
        ? value.r
        : undefined;
    if (!factor || readsOf(factor).has(p) || readsOf(factor).has(pd) || tangent.op !== '=')
      return unsupported(`the update of '${p}' is not of the form ${p} = ${p} * e`);
    // p and ṗ read nowhere else in the body (the two statements alone carry the running values)
    let other: string | undefined;
    forEachStmt(body, (t) => {
      if (t === update || t === tangent) return;
      if (ownExprs(t).some((e) => readsOf(e).has(p) || readsOf(e).has(pd)))
        other ??= `the loop reads '${p}' or '${pd}' outside their updates`;
      if (t.k === 'assign' && t.target.k === 'var' && (t.target.name === p || t.target.name === pd))
        other ??= `'${t.target.name}' is assigned inside a branch or loop`;
    });
    if (other) return unsupported(other);
    // ė: the linearization ė·p + e·ṗ (linear in ṗ and ė) at p = 1, ṗ = 0
    const edExpr = substitute(tangent.value, (x) =>
      x.k === 'var' && x.name === p ? num(1) : x.k === 'var' && x.name === pd ? num(0) : undefined,
    );
    const e = fresh(`_${p}_e`);
    const ed = fresh(`_${pd}_e`);
    const p0 = fresh(`_${p}_0`);
    const pd0 = fresh(`_${pd}_0`);
    const zeros = fresh(`_${p}_zeros`);
    const nz = fresh(`_${p}_nz`);
    const sum = fresh(`_${pd}_s`);
    const zd = fresh(`_${pd}_z`);
    const isZero = bin('===', v(e), num(0));
    const acc = (name: string, op: '+=' | '*=', value: Expr): Stmt => ({
      k: 'assign',
      target: { k: 'var', name },
      op,
      value,
    });
    const decl = (name: string, init: Expr, mutable: boolean): Stmt => ({
      k: 'decl',
      name,
      mutable,
      init,
      type: 'f32',
    });
    const out = body.flatMap((t): Stmt[] => {
      if (t === tangent) return [];
      if (t !== update) return [t];
      return [
        decl(e, factor, false),
        decl(ed, edExpr, false),
        acc(p, '*=', v(e)),
        acc(zeros, '+=', cond(isZero, num(1), num(0))),
        acc(nz, '*=', cond(isZero, num(1), v(e))),
        acc(sum, '+=', cond(isZero, num(0), bin('/', v(ed), v(e)))),
        acc(zd, '+=', cond(isZero, v(ed), num(0))),
      ];
    });
    const scaled = bin('*', v(p0), v(nz));
    return {
      body: out,
      before: [
        decl(p0, v(p), false),
        decl(pd0, v(pd), false),
        decl(zeros, num(0), true),
        decl(nz, num(1), true),
        decl(sum, num(0), true),
        decl(zd, num(0), true),
      ],
      after: {
        k: 'assign',
        target: { k: 'var', name: pd },
        op: '=',
        value: cond(
          bin('===', v(zeros), num(0)),
          bin('+', bin('*', v(pd0), v(nz)), bin('*', scaled, v(sum))),
          cond(bin('===', v(zeros), num(1)), bin('*', scaled, v(zd)), num(0)),
        ),
      },
    };
  };
  const out = mapParallelLoops(body, nest);
  return why ? { why } : { body: out };
}
