/**
 * Activity analysis: a variable is *varied* if it may depend differentiably on an active input and
 * *useful* if it may influence an active output differentiably; derivative code exists only for
 * variables that are both. Flow-insensitive fixed points over the kernel's assignments.
 * Returns a side table (with a printer), never flags on IR nodes.
 */
import type { Expr, Kernel, Stmt } from '../ir/types.js';
import { isConstantOp } from '../ir/ops.js';
import { forEachStmt } from '../ir/walk.js';

export interface Activity {
  /** Active names: active parameters (arrays and float scalars) and active locals. */
  readonly active: ReadonlySet<string>;
  readonly varied: ReadonlySet<string>;
  readonly useful: ReadonlySet<string>;
  isActive(name: string): boolean;
  print(): string;
}

/** Names an expression reads in differentiable positions (not through indices, comparisons, floor, …). */
export function diffReads(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case 'var':
      out.add(e.name);
      break;
    case 'index':
      out.add(e.array);
      break;
    case 'unary':
      if (e.op === '-' || e.op === '+') diffReads(e.e, out);
      break;
    case 'binary':
      if (e.op === '+' || e.op === '-' || e.op === '*' || e.op === '/') {
        diffReads(e.l, out);
        diffReads(e.r, out);
      }
      break;
    case 'cond':
      diffReads(e.t, out);
      diffReads(e.f, out);
      break;
    case 'call':
      if (!isConstantOp(e.fn)) for (const a of e.args) diffReads(a, out);
      break;
    default:
      break;
  }
  return out;
}

interface Flow {
  target: string;
  sources: Set<string>;
}

function flows(body: Stmt[]): Flow[] {
  const out: Flow[] = [];
  forEachStmt(body, (s) => {
    if (s.k === 'decl') out.push({ target: s.name, sources: diffReads(s.init) });
    else if (s.k === 'assign') {
      const target = s.target.k === 'var' ? s.target.name : s.target.array;
      const sources = diffReads(s.value);
      if (s.op !== '=') sources.add(target);
      out.push({ target, sources });
    }
  });
  return out;
}

export function analyzeActivity(k: Kernel): Activity {
  const activeParams = new Set(k.params.filter((p) => p.active).map((p) => p.name));
  const params = new Set(k.params.map((p) => p.name));
  const intLocals = new Set<string>();
  forEachStmt(k.body, (s) => {
    if (s.k === 'decl' && (s.type === 'i32' || s.type === 'u32')) intLocals.add(s.name);
    if (s.k === 'for') intLocals.add(s.v);
  });
  const canBeActive = (n: string) => (params.has(n) ? activeParams.has(n) : !intLocals.has(n));
  const fl = flows(k.body);

  const varied = new Set(activeParams);
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of fl) {
      if (varied.has(f.target) || !canBeActive(f.target)) continue;
      if ([...f.sources].some((s) => varied.has(s))) {
        varied.add(f.target);
        changed = true;
      }
    }
  }

  const useful = new Set(k.params.filter((p) => p.active && p.kind === 'array').map((p) => p.name));
  if (k.returns !== 'void') {
    forEachStmt(k.body, (s) => {
      if (s.k === 'return' && s.value) for (const n of diffReads(s.value)) useful.add(n);
    });
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of fl) {
      if (!useful.has(f.target)) continue;
      for (const s of f.sources) {
        if (!useful.has(s)) {
          useful.add(s);
          changed = true;
        }
      }
    }
  }

  const active = new Set<string>(activeParams);
  for (const n of varied) if (useful.has(n) && canBeActive(n)) active.add(n);
  return {
    active,
    varied,
    useful,
    isActive: (n) => active.has(n),
    print: () =>
      [
        `activity of ${k.name}:`,
        `  active: ${[...active].sort().join(', ') || '-'}`,
        `  varied only: ${
          [...varied]
            .filter((n) => !active.has(n))
            .sort()
            .join(', ') || '-'
        }`,
        `  useful only: ${
          [...useful]
            .filter((n) => !active.has(n))
            .sort()
            .join(', ') || '-'
        }`,
      ].join('\n'),
  };
}
