/**
 * Scalar reductions of `@parallel` loops (OpenMP's `reduction(op: s)`): in a parallel nest, a scalar
 * declared outside it whose every write is `s += e` / `s -= e` (op `+`), `s *= e` (op `*`),
 * `s = Math.max(s, e)` (op `max`) or `s = Math.min(s, e)` (op `min`), one operator per scalar,
 * and which the nest reads nowhere else. Each iteration's contribution is combined in any order.
 *
 * `+` updates may stand anywhere in the nest's body (branches, inner loops); `*`, `max` and `min`
 * need one update at the top level of the nest's innermost body: their adjoints route the result's
 * adjoint through per-iteration coefficients (the arg-max, the product of the other factors) that
 * the forward sweep records once per iteration.
 */
import type { Expr, ForLoop, Kernel, Stmt } from './types.js';
import { readsOf } from './build.js';
import { declaredIn, forEachStmt, ownExprs, targetName, writesOf } from './walk.js';

export type ReductionOp = '+' | '*' | 'max' | 'min';

export interface Reduction {
  name: string;
  op: ReductionOp;
  /** the updates, in body order (for `*`, `max`, `min`: exactly one, at the top level of the innermost body) */
  updates: (Stmt & { k: 'assign' })[];
}

/** The operator and contribution of one update of `name`, or undefined if the statement is not one. */
export function reductionUpdate(s: Stmt, name: string): { op: ReductionOp; e: Expr; sign: 1 | -1 } | undefined {
  if (s.k !== 'assign' || s.target.k !== 'var' || s.target.name !== name) return undefined;
  const clean = (e: Expr) => !readsOf(e).has(name);
  if ((s.op === '+=' || s.op === '-=') && clean(s.value)) return { op: '+', e: s.value, sign: s.op === '+=' ? 1 : -1 };
  if (s.op === '*=' && clean(s.value)) return { op: '*', e: s.value, sign: 1 };
  const val = s.value;
  if (s.op === '=' && val.k === 'call' && (val.fn === 'Math.max' || val.fn === 'Math.min') && val.args.length === 2) {
    const [a, b] = val.args;
    const op = val.fn === 'Math.max' ? 'max' : 'min';
    if (a.k === 'var' && a.name === name && clean(b)) return { op, e: b, sign: 1 };
    if (b.k === 'var' && b.name === name && clean(a)) return { op, e: a, sign: 1 };
  }
  return undefined;
}

export const OP_TEXT: Record<ReductionOp, string> = { '+': '+=/-=', '*': '*=', max: 'Math.max', min: 'Math.min' };

/**
 * The reductions of a parallel nest (outermost loop `nest[0]`, body the innermost loop's), and for
 * each other scalar declared outside it that the nest writes, why it is not a reduction.
 */
export function nestReductions(
  nest: ForLoop[],
  isArray: (name: string) => boolean,
): { reductions: Reduction[]; problems: Map<string, string> } {
  const loop = nest[0];
  const body = nest[nest.length - 1].body;
  const inner = declaredIn(loop.body);
  inner.add(loop.v);
  forEachStmt(loop.body, (s) => {
    if (s.k === 'assign' && s.target.k === 'index') inner.add(s.target.array);
  });
  const reductions: Reduction[] = [];
  const problems = new Map<string, string>();
  for (const name of writesOf(loop.body)) {
    if (inner.has(name) || isArray(name)) continue;
    const problem = reductionProblem(loop, body, name);
    if (typeof problem === 'string') problems.set(name, problem);
    else reductions.push(problem);
  }
  return { reductions, problems };
}

function reductionProblem(loop: ForLoop, body: Stmt[], name: string): Reduction | string {
  const updates: (Stmt & { k: 'assign' })[] = [];
  let problem: string | undefined;
  let op: ReductionOp | undefined;
  forEachStmt(loop.body, (s) => {
    if (problem) return;
    if (s.k === 'assign' && targetName(s.target) === name) {
      const u = reductionUpdate(s, name);
      if (!u) {
        problem =
          readsOf(s.value).has(name) && s.op !== '='
            ? `the update of '${name}' reads '${name}' in its right-hand side`
            : `'${name}' is assigned with ${s.op === '=' ? 'a plain =' : s.op}`;
        return;
      }
      if (op && op !== u.op) {
        problem = `'${name}' is updated with both ${OP_TEXT[op]} and ${OP_TEXT[u.op]}`;
        return;
      }
      op = u.op;
      updates.push(s);
      return;
    }
    if (ownExprs(s).some((e) => readsOf(e).has(name))) problem = `the loop reads '${name}' outside its updates`;
  });
  if (problem) return problem;
  if (op && op !== '+' && (updates.length !== 1 || !body.includes(updates[0]))) {
    return `a ${OP_TEXT[op]} reduction needs a single update of '${name}' at the top level of the parallel loop's body (not in a branch or an inner loop)`;
  }
  return { name, op: op!, updates };
}

/** The diagnostic text for a scalar the loop writes that is not a reduction. */
export function notAReduction(name: string, problem: string): string {
  return (
    `this @parallel loop assigns '${name}', declared outside it, and it is not a reduction (${problem}): every iteration would write the same variable (a race). ` +
    `A reduction updates '${name}' only with ${name} += e, ${name} -= e, ${name} *= e, ${name} = Math.max(${name}, e) or ${name} = Math.min(${name}, e) (one operator, e not reading '${name}') and reads it nowhere else in the loop; ` +
    `otherwise use a sequential loop or write to an array element.`
  );
}

/** A reduction of one of the kernel's parallel nests, with the nest. */
export interface NestReduction extends Reduction {
  nest: ForLoop[];
}

/**
 * The reductions of the kernel's parallel nests (each outermost `@parallel` loop, wherever it
 * stands), by the nest's outermost loop. The kernel has passed the subset check: every scalar a
 * nest writes and does not declare is a reduction.
 */
export function kernelReductions(body: Stmt[], isArray: (name: string) => boolean): Map<ForLoop, NestReduction[]> {
  const out = new Map<ForLoop, NestReduction[]>();
  const visit = (stmts: Stmt[]): void => {
    for (const s of stmts) {
      if (s.k === 'for' && s.parallel) {
        const nest = nestOf(s);
        const { reductions } = nestReductions(nest, isArray);
        if (reductions.length)
          out.set(
            s,
            reductions.map((r) => ({ ...r, nest })),
          );
        continue;
      }
      if (s.k === 'for' || s.k === 'block') visit(s.body);
      else if (s.k === 'if') {
        visit(s.then);
        visit(s.else);
      }
    }
  };
  visit(body);
  return out;
}

/** The perfect nest of `@parallel` loops starting at `loop`. */
export function nestOf(loop: ForLoop): ForLoop[] {
  const nest = [loop];
  let cur = loop;
  while (cur.body.length === 1 && cur.body[0].k === 'for' && cur.body[0].parallel) {
    cur = cur.body[0];
    nest.push(cur);
  }
  return nest;
}

/** The update statements of `*`, `max` and `min` reductions (whose adjoints need coefficients), with their reduction. */
export function coefficientUpdates(reductions: Map<ForLoop, NestReduction[]>): Map<Stmt, NestReduction> {
  const out = new Map<Stmt, NestReduction>();
  for (const list of reductions.values()) for (const r of list) if (r.op !== '+') out.set(r.updates[0], r);
  return out;
}

/** {@link kernelReductions} of a kernel (its array parameters and the arrays it writes are not reductions). */
export function kernelReductionsOf(k: Kernel): Map<ForLoop, NestReduction[]> {
  const arrays = new Set(k.params.filter((p) => p.kind === 'array').map((p) => p.name));
  return kernelReductions(k.body, (n) => arrays.has(n));
}
