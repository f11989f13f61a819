/**
 * The IR of `@layer` functions: straight-line calls of kernels and other layers, sequential loops
 * over them (optionally `// @checkpoint`), scratch arrays, copies and swaps of array variables.
 * Values (integers, inactive floats) are kernel IR expressions; floats that carry derivatives only
 * flow through calls (docs/layers.md).
 */
import type { Expr, ForLoop, Loc, Param, ArrayType } from './types.js';

/** An argument of a call, by the callee parameter it is bound to. */
export type LArg =
  /** a layer array variable */
  | { k: 'array'; name: string }
  /** an active float scalar variable of the layer (a parameter or a float local) */
  | { k: 'scalar'; name: string }
  /** an inactive value: integers, literals, inactive floats */
  | { k: 'value'; e: Expr };

export type LStmt =
  /** `callee(args)`, its float result (times `scale`) assigned (`=`) or added (`+=`) to a float local */
  | { k: 'call'; callee: string; args: LArg[]; result?: { name: string; op: '=' | '+='; scale?: Expr }; loc: Loc }
  /** `const name = new Float64Array(length)` */
  | { k: 'scratch'; name: string; type: ArrayType; length: Expr; loc: Loc }
  /** `let name = other` (another array variable, declared at the layer's top level) */
  | { k: 'alias'; name: string; of: string; loc: Loc }
  /** `const name = value` (integers or inactive floats) */
  | { k: 'value'; name: string; init: Expr; loc: Loc }
  /** `let name = 0`: a float local that call results are assigned or added to */
  | { k: 'float'; name: string; init: Expr; loc: Loc }
  /** `dst.set(src)` */
  | { k: 'copy'; dst: string; src: string; loc: Loc }
  /** `dst.fill(value)` */
  | { k: 'fill'; dst: string; value: Expr; loc: Loc }
  /** `[a, b] = [b, a]` */
  | { k: 'swap'; a: string; b: string; loc: Loc }
  /** `if (cond) … else …` on inactive values (the reverse sweep evaluates it again) */
  | { k: 'if'; cond: Expr; then: LStmt[]; else: LStmt[]; loc: Loc }
  /** a sequential loop; `header.body` is empty (the body is `body`) */
  | { k: 'loop'; header: ForLoop; body: LStmt[]; checkpoint?: { slots?: number; cost?: Expr }; loc: Loc }
  /** `return name` (a float local) or `return` */
  | { k: 'return'; value?: string; loc: Loc };

export type LVarKind = 'arrayParam' | 'scalarParam' | 'scratch' | 'alias' | 'value' | 'float' | 'loopVar';

export interface LVar {
  name: string;
  kind: LVarKind;
  /** array type, or the scalar type (`number` where not written) */
  type: string;
  /** has a derivative partner (`d`/`b`) */
  partner: boolean;
  /** declared inside a loop of the layer */
  inLoop: boolean;
  /** swapped somewhere in the layer */
  swapped?: boolean;
}

export interface Layer {
  name: string;
  params: Param[];
  returns: 'void' | 'f32' | 'f64';
  body: LStmt[];
  vars: Map<string, LVar>;
  /** array parameters the layer may write (through aliases and swaps included) */
  writes: Set<string>;
  /** array parameters the layer may read */
  reads: Set<string>;
  sourceText: string;
  doc: string;
  loc: Loc;
  /** the file of an imported layer (emitted module-local) */
  origin?: string;
}

/** What a call needs to know of its callee (a kernel or a layer). */
export interface Callee {
  name: string;
  kind: 'kernel' | 'layer';
  params: Param[];
  returns: 'void' | 'f32' | 'f64';
  /** array parameters it may write */
  writes: Set<string>;
  /** array parameters whose elements it may read */
  reads: Set<string>;
}

/** Visits every statement, loop bodies and branches included (pre-order). */
export function forEachLStmt(body: LStmt[], f: (s: LStmt, inLoop: boolean) => void, inLoop = false): void {
  for (const s of body) {
    f(s, inLoop);
    if (s.k === 'loop') forEachLStmt(s.body, f, true);
    if (s.k === 'if') {
      forEachLStmt(s.then, f, inLoop);
      forEachLStmt(s.else, f, inLoop);
    }
  }
}

/** Union-find of array variables bound to the same buffers (aliases and swaps). */
export function bufferGroups(layer: Pick<Layer, 'body' | 'vars'>): Map<string, Set<string>> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    while (parent.has(x) && parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  const union = (a: string, b: string) => parent.set(find(a), find(b));
  for (const v of layer.vars.keys()) parent.set(v, v);
  forEachLStmt(layer.body, (s) => {
    if (s.k === 'alias') union(s.name, s.of);
    if (s.k === 'swap') union(s.a, s.b);
  });
  const groups = new Map<string, Set<string>>();
  for (const v of layer.vars.keys()) {
    const r = find(v);
    if (!groups.has(r)) groups.set(r, new Set());
    groups.get(r)!.add(v);
  }
  const out = new Map<string, Set<string>>();
  for (const g of groups.values()) for (const v of g) out.set(v, g);
  return out;
}

/** The array arguments of a call bound to parameters its callee reads (`reads`) or writes. */
function callArrays(
  s: Extract<LStmt, { k: 'call' }>,
  callees: Map<string, Callee>,
  access: 'reads' | 'writes',
): string[] {
  const c = callees.get(s.callee);
  const out = new Set<string>();
  c?.params.forEach((p, i) => {
    const a = s.args[i];
    if (p.kind === 'array' && c[access].has(p.name) && a?.k === 'array') out.add(a.name);
  });
  return [...out];
}

/** The array variables each statement may write (a call's written array arguments, copies, fills). */
export function writtenArrays(s: LStmt, callees: Map<string, Callee>): string[] {
  if (s.k === 'call') return callArrays(s, callees, 'writes');
  return s.k === 'copy' || s.k === 'fill' ? [s.dst] : [];
}

/** The array variables each statement may read (a call's arguments its callee reads, a copy's source). */
export function readArrays(s: LStmt, callees: Map<string, Callee>): string[] {
  if (s.k === 'call') return callArrays(s, callees, 'reads');
  return s.k === 'copy' ? [s.src] : [];
}

/** The array parameters a layer may read and write (through aliases and swaps included). */
export function layerAccesses(layer: Layer, callees: Map<string, Callee>): { reads: Set<string>; writes: Set<string> } {
  const groups = bufferGroups(layer);
  const reads = new Set<string>();
  const writes = new Set<string>();
  const params = (vars: string[], out: Set<string>) => {
    for (const v of vars)
      for (const m of groups.get(v) ?? [v]) if (layer.vars.get(m)?.kind === 'arrayParam') out.add(m);
  };
  forEachLStmt(layer.body, (s) => {
    params(writtenArrays(s, callees), writes);
    params(readArrays(s, callees), reads);
  });
  return { reads, writes };
}
