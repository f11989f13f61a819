/**
 * Value types of a function's names for WGSL, which (unlike JavaScript) tells integers from floats:
 * parameters by their declared types, loop variables i32, locals by their annotation or else by
 * what they are assigned (a local initialized with `0` and later given `acc + w[k] * u[k]` is f32).
 */
import type { Expr, Stmt } from '../../ir/types.js';
import { forEachStmt } from '../../ir/walk.js';

export type WType = 'f32' | 'i32' | 'u32' | 'bool';

/** The WGSL element type of a typed-array parameter type, the scalar type of a scalar one. */
export function paramType(type: string): WType | undefined {
  switch (type) {
    case 'Float32Array':
    case 'f32':
      return 'f32';
    case 'Int32Array':
    case 'i32':
      return 'i32';
    case 'Uint32Array':
    case 'u32':
      return 'u32';
    default:
      return undefined;
  }
}

const INTEGER_CALLS = new Set(['Math.max', 'Math.min', 'Math.abs']);

export class Types {
  readonly names = new Map<string, WType>();
  /** element types of the arrays */
  readonly arrays = new Map<string, WType>();
  /** arrays the pass being printed declares atomic (their reads are atomic loads): see forPass */
  readonly atomic: ReadonlySet<string> = new Set<string>();
  /**
   * the device-scalar buffer of the pass being printed and its slots reduced per workgroup
   * (program.ts workgroupSums), with their operator: their updates go to private values; other
   * arrays' constant-index updates stay atomic adds
   */
  readonly sums?: { buffer: string; ops: Map<number, '+' | '*' | 'max' | 'min'> };
  /** names of the packed bindings and their uniforms (program.ts's `resources`): each pass may reuse them */
  readonly packNames = new Set<string>();

  /** These types as one pass's printer sees them: its atomic arrays and workgroup sums (the rest shared). */
  forPass(atomic: ReadonlySet<string>, sums?: Types['sums']): Types {
    return Object.assign(Object.create(Types.prototype) as Types, this, { atomic, sums });
  }

  constructor(params: { name: string; type: string }[], body: Stmt[]) {
    for (const p of params) {
      const t = paramType(p.type);
      if (!t) continue;
      (p.type.endsWith('Array') ? this.arrays : this.names).set(p.name, t);
    }
    // loops and annotated locals first; then locals by their initializers and assignments, to a fixed point
    const untyped: (Stmt & { k: 'decl' })[] = [];
    forEachStmt(body, (s) => {
      if (s.k === 'for') this.names.set(s.v, 'i32');
      else if (s.k === 'decl') {
        if (s.type === 'f32' || s.type === 'f64') this.names.set(s.name, 'f32');
        else if (s.type === 'i32' || s.type === 'u32') this.names.set(s.name, s.type);
        else untyped.push(s);
      }
    });
    // a local named like a loop variable is one (a gather's solved loop variable: an integer)
    const loopVars = new Set([...this.names].filter(([, t]) => t === 'i32').map(([n]) => n));
    for (const d of untyped) if (!loopVars.has(d.name)) this.names.set(d.name, this.of(d.init));
    for (let changed = true; changed; ) {
      changed = false;
      forEachStmt(body, (s) => {
        if (
          s.k === 'assign' &&
          s.target.k === 'var' &&
          this.names.get(s.target.name) !== 'f32' &&
          this.of(s.value) === 'f32'
        ) {
          this.names.set(s.target.name, 'f32');
          changed = true;
        }
        if (
          s.k === 'decl' &&
          untyped.includes(s) &&
          !loopVars.has(s.name) &&
          this.names.get(s.name) !== 'f32' &&
          this.of(s.init) === 'f32'
        ) {
          this.names.set(s.name, 'f32');
          changed = true;
        }
      });
    }
  }

  /** The type of an expression (integer literals are i32 unless mixed with floats). */
  of(e: Expr): WType {
    switch (e.k) {
      case 'num':
        return Number.isInteger(e.value) && !/[.eE]|Math\./.test(e.text) ? 'i32' : 'f32';
      case 'var':
        return this.names.get(e.name) ?? 'f32';
      case 'index':
        return this.arrays.get(e.array) ?? 'f32';
      case 'length':
        return 'i32';
      case 'unary':
        return e.op === '!' ? 'bool' : this.of(e.e);
      case 'binary': {
        if (['<', '<=', '>', '>=', '===', '!==', '==', '!=', '&&', '||'].includes(e.op)) return 'bool';
        if (['|', '&', '^', '<<', '>>', '>>>'].includes(e.op)) return 'i32';
        const l = this.of(e.l),
          r = this.of(e.r);
        // `/` is float division in JavaScript (`(a / b) | 0` is the integer one)
        if (l === 'f32' || r === 'f32' || e.op === '/') return 'f32';
        return l === 'u32' && r === 'u32' ? 'u32' : 'i32';
      }
      case 'cond': {
        const t = this.of(e.t),
          f = this.of(e.f);
        return t === 'f32' || f === 'f32' ? 'f32' : t;
      }
      // Math.max/min/abs of integers (trip counts) are integers
      case 'call':
        return INTEGER_CALLS.has(e.fn) && e.args.every((a) => this.of(a) === 'i32') ? 'i32' : 'f32';
      default:
        return 'f32';
    }
  }
}
