/**
 * Semantic checks of the kernel language on the IR (the syntactic subset is enforced while
 * lowering): return placement, loop bounds that the loop changes, parallel loops that write
 * variables shared by all iterations.
 */
import type { Kernel, Stmt, ForLoop, Expr } from '../ir/types.js';
import type { DiagnosticSink } from '../diagnostics.js';
import { readsOf, walkExpr } from '../ir/build.js';
import { forEachStmt, writesOf, ownExprs } from '../ir/walk.js';
import { nestReductions, notAReduction } from '../ir/reduction.js';
import { nestOf as parallelNest } from '../ir/reduction.js';
import { CODES } from './codes.js';

export function checkKernel(k: Kernel, sink: DiagnosticSink): void {
  const at = (s: Stmt, code: string, msg: string) => {
    const loc = 'loc' in s ? s.loc : undefined;
    sink.error(code, msg, loc?.start ?? k.loc.start, loc?.end ?? k.loc.end);
  };

  // return: only as the kernel's last statement
  forEachStmt(k.body, (s) => {
    if (s.k === 'return' && s !== k.body[k.body.length - 1]) {
      at(s, CODES.returnPlace, 'return must be the last statement of the kernel (no early returns)');
    }
  });
  const last = k.body[k.body.length - 1];
  if (k.returns !== 'void' && (!last || last.k !== 'return' || !last.value)) {
    sink.error(
      CODES.missingReturn,
      `kernel '${k.name}' returns ${k.returns}: end it with return <expression>`,
      k.loc.start,
      k.loc.end,
    );
  }
  if (k.returns === 'void' && last?.k === 'return' && last.value) {
    at(
      last,
      CODES.returnPlace,
      `kernel '${k.name}' returns void; declare the return type f32 or f64 to return a value`,
    );
  }

  const arrays = new Set(k.params.filter((p) => p.kind === 'array').map((p) => p.name));
  forEachStmt(k.body, (s) => {
    if (s.k !== 'for') return;
    checkLoop(s, arrays, at);
  });
  checkIndices(k, sink);
}

/** `x[i / 2]`: JavaScript's `/` is float division, so odd `i` reads `undefined` (NaN). */
function checkIndices(k: Kernel, sink: DiagnosticSink): void {
  const INTEGER_OPS = new Set(['|', '>>', '>>>', '<<', '&', '^']);
  const divides = (e: Expr): boolean => {
    if (e.k === 'binary') {
      if (INTEGER_OPS.has(e.op)) return false; // (a / b) | 0 and friends are integers
      return e.op === '/' || divides(e.l) || divides(e.r);
    }
    if (e.k === 'call')
      return ['Math.floor', 'Math.ceil', 'Math.round', 'Math.trunc'].includes(e.fn) ? false : e.args.some(divides);
    if (e.k === 'unary') return divides(e.e);
    if (e.k === 'cond') return divides(e.t) || divides(e.f);
    return false;
  };
  const seen = new Set<number>();
  forEachStmt(k.body, (s) => {
    const loc = 'loc' in s ? s.loc : undefined;
    for (const e of ownExprs(s)) {
      walkExpr(e, (x) => {
        if (x.k === 'index' && divides(x.index) && loc && !seen.has(loc.start)) {
          seen.add(loc.start);
          sink.warning(
            CODES.floatIndex,
            `the index of ${x.array}[…] uses /, which is float division in JavaScript: a fractional index reads undefined (NaN). Use (a / b) | 0, a >> 1 or Math.floor(a / b).`,
            loc.start,
            loc.end,
          );
        }
      });
    }
  });
}

function checkLoop(s: ForLoop, arrays: Set<string>, at: (s: Stmt, code: string, msg: string) => void): void {
  const written = writesOf(s.body);
  // an array's length never changes: writing its elements does not move a bound like `x.length`
  for (const n of [...readsOf(s.init), ...readsOf(s.bound)].filter((x) => !arrays.has(x))) {
    if (written.has(n) && n !== s.v) {
      at(
        s,
        CODES.loopBoundWritten,
        `the bounds of this loop read '${n}', which the loop body changes; compute the bound into a const before the loop`,
      );
    }
  }
  if (s.parallel) {
    // locals declared outside the loop are shared by all iterations: writing them is a race, unless
    // every write is a reduction update (ir/reduction.ts)
    const { problems } = nestReductions(parallelNest(s), (n) => arrays.has(n));
    for (const [n, problem] of problems) at(s, CODES.parallelWritesOuter, notAReduction(n, problem));
  }
}
