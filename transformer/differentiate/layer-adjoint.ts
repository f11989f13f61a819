/**
 * Adjoint of a `@layer` function (docs/layers.md).
 *
 * Forward sweep: the layer's statements, each saving what it overwrites on a stack (the arrays a
 * call writes, a float local's old value, the binding of a scratch array declared in a loop).
 * Reverse sweep: the statements backwards, each restoring the state from before it: a call pops
 * its saved arrays into place, calls the callee's `_b` (which runs the call's primal again and
 * leaves its outputs), and puts the saved inputs back for the calls before it. Swaps swap the
 * arrays with their adjoints both ways, so an array and its adjoint stay paired.
 *
 * A `// @checkpoint` loop does not save per step: parad's `checkpointLoop` runs the optimal
 * schedule over callbacks generated here (save/restore of the loop's state, an untaped step, a
 * reversed step, which is the loop body's own forward and reverse sweep on a local stack).
 */
import type { Stmt } from '../ir/types.js';
import type { LStmt, LVar } from '../ir/layer.js';
import { checkpointState, planLayerSaves, printSavePlan, type CallPlan } from '../analysis/layer-saves.js';
import { writtenArrays } from '../ir/layer.js';
import type { FunctionIR } from './function.js';
import { printExpr, forHeader } from '../ir/print.js';
import { adjointName } from '../naming.js';
import {
  addTo,
  callArgs,
  iterationValue,
  line,
  nest,
  scaleOf,
  times,
  tripCount,
  type LayerContext,
} from './layer-common.js';

export function layerAdjoint(ctx: LayerContext): FunctionIR & { runtime: Set<string> } {
  const { layer, names } = ctx;
  const A = new Adjoint(ctx);
  A.runtime.add('SaveStack');
  const params: FunctionIR['params'] = [];
  for (const p of layer.params) {
    params.push({ name: p.name, type: p.type });
    if (p.active && p.kind === 'array') params.push({ name: names.b(p.name), type: p.type });
  }
  const retb = names.returnAdjoint(layer.name);
  if (layer.returns !== 'void') params.push({ name: retb, type: layer.returns });
  const scalars = layer.params.filter((p) => p.active && p.kind === 'scalar');
  const results = scalars.map((p) => ({ key: `${p.name}b`, name: names.b(p.name) }));

  const body: Stmt[] = [];
  // every variable lives in the function's scope: both sweeps (and checkpoint callbacks) use it
  for (const v of layer.vars.values()) body.push(...A.hoist(v));
  for (const p of scalars) body.push(line(`let ${names.b(p.name)} = 0;`));
  body.push(line(`const ${A.stack} = new SaveStack();`));
  body.push(line('// forward sweep'));
  body.push(...A.forward(layer.body, A.stack));
  const outputs = [...layer.writes];
  for (const a of outputs) body.push(line(`const ${names.saved(a)} = ${a}.slice();`));
  body.push(line('// reverse sweep'));
  body.push(...A.reverse(layer.body, A.stack, retb));
  for (const a of outputs) body.push(line(`${a}.set(${names.saved(a)});`));
  if (results.length)
    body.push(line(`return { ${results.map((r) => (r.key === r.name ? r.key : `${r.key}: ${r.name}`)).join(', ')} };`));
  return {
    name: adjointName(layer.name),
    params,
    returnType: results.length ? `{ ${results.map((r) => `${r.key}: number`).join('; ')} }` : 'void',
    comment: [
      `Adjoint of layer ${layer.name}: the forward sweep saves what later calls overwrite, the reverse sweep`,
      `calls the callees' _b in reverse order${A.checkpointed ? '; // @checkpoint loops follow the optimal schedule (parad checkpointLoop)' : ''}.`,
      'State-transforming: b partners hold adjoints of the values at exit on entry, at entry on exit.',
      ...printSavePlan(A.plans),
    ],
    body,
    results,
    runtime: A.runtime,
  };
}

/**
 * The layer's primal as a generated function (its WebGPU variant: the source's `s += k()` becomes
 * `s = add(s, k())`); the TypeScript output keeps the source text instead.
 */
export function layerPrimal(ctx: LayerContext): FunctionIR {
  const A = new Adjoint(ctx);
  const body: Stmt[] = [];
  for (const v of ctx.layer.vars.values()) body.push(...A.hoistPrimal(v));
  body.push(...A.primal(ctx.layer.body, true));
  return {
    name: ctx.layer.name,
    params: ctx.layer.params.map((p) => ({ name: p.name, type: p.type })),
    returnType: ctx.layer.returns,
    comment: [`Layer ${ctx.layer.name}.`],
    body,
  };
}

class Adjoint {
  readonly stack: string;
  readonly runtime = new Set<string>();
  checkpointed = false;

  readonly plans: Map<LStmt, CallPlan>;

  constructor(readonly ctx: LayerContext) {
    this.stack = ctx.names.temp('saved');
    this.plans = planLayerSaves(ctx.layer, ctx.callees);
  }

  private v(name: string): LVar {
    return this.ctx.layer.vars.get(name)!;
  }

  b(name: string): string {
    return this.ctx.names.b(name);
  }

  hoist(v: LVar): Stmt[] {
    switch (v.kind) {
      case 'scratch':
      case 'alias':
        return [line(`let ${v.name}!: ${v.type};`), ...(v.partner ? [line(`let ${this.b(v.name)}!: ${v.type};`)] : [])];
      case 'float':
        return [line(`let ${v.name} = 0;`), line(`let ${this.b(v.name)} = 0;`)];
      default:
        return [];
    }
  }

  /** The primal's declarations: arrays and float locals (no adjoints). */
  hoistPrimal(v: LVar): Stmt[] {
    if (v.kind === 'scratch' || v.kind === 'alias') return [line(`let ${v.name}!: ${v.type};`)];
    if (v.kind === 'float') return [line(`let ${v.name}: number = 0;`)];
    return [];
  }

  /** The forward sweep of `body`, saving on `stack`. */
  forward(body: LStmt[], stack: string): Stmt[] {
    return body.flatMap((s) => this.fwd(s, stack));
  }

  private fwd(s: LStmt, stack: string): Stmt[] {
    switch (s.k) {
      case 'call': {
        const plan = this.plans.get(s)!;
        if (plan.skip) return [];
        const out: Stmt[] = [];
        for (const w of plan.save) out.push(line(`${stack}.save(${w});`, s));
        if (s.result) out.push(line(`${stack}.push(${s.result.name});`, s));
        out.push(this.primalCall(s));
        return out;
      }
      case 'scratch': {
        const alloc = line(`${s.name} = new ${s.type}(${printExpr(s.length)});`, s);
        if (this.v(s.name).inLoop) return [line(`${stack}.push(${s.name});`, s), alloc];
        return [
          alloc,
          ...(this.v(s.name).partner ? [line(`${this.b(s.name)} = new ${s.type}(${s.name}.length);`, s)] : []),
        ];
      }
      case 'alias':
        return [
          line(`${s.name} = ${s.of};`, s),
          ...(this.v(s.name).partner ? [line(`${this.b(s.name)} = ${this.b(s.of)};`, s)] : []),
        ];
      case 'value':
        return [line(`const ${s.name} = ${printExpr(s.init)};`, s)];
      case 'float':
        return [
          ...(this.v(s.name).inLoop ? [line(`${stack}.push(${s.name});`, s)] : []),
          line(`${s.name} = ${printExpr(s.init)};`, s),
        ];
      case 'copy':
        return [line(`${stack}.save(${s.dst});`, s), line(`${s.dst}.set(${s.src});`, s)];
      case 'fill':
        return [line(`${stack}.save(${s.dst});`, s), line(`${s.dst}.fill(${printExpr(s.value)});`, s)];
      case 'swap':
        return this.swap(s);
      case 'loop':
        if (s.checkpoint) return this.checkpointForward(s, stack);
        return [
          line(`// from ${this.ctx.fileName}:${s.loc.line}`, s),
          nest(forHeader(s.header), this.forward(s.body, stack), undefined, s),
        ];
      case 'if':
        return [
          { k: 'if', cond: s.cond, then: this.forward(s.then, stack), else: this.forward(s.else, stack), loc: s.loc },
        ];
      case 'return':
        return [];
    }
  }

  /** `dst` from the copy on top of the stack (the copy then goes back to the pool). */
  private restoreSaved(dst: string, stack: string, s: LStmt): Stmt[] {
    const t = this.ctx.names.temp('in');
    return [
      line(`const ${t} = ${stack}.pop() as ${this.v(dst).type};`, s),
      line(`${dst}.set(${t});`, s),
      line(`${stack}.release(${t});`, s),
    ];
  }

  private primalCall(s: Extract<LStmt, { k: 'call' }>): Stmt {
    const callee = this.ctx.callees.get(s.callee)!;
    const call = `${s.callee}(${callArgs(this.ctx, callee, s.args, 'primal').join(', ')})`;
    if (!s.result) return line(`${call};`, s);
    const value = scaleOf(this.ctx, s.result.scale, call);
    return line(s.result.op === '+=' ? addTo(this.ctx, s.result.name, value) : `${s.result.name} = ${value};`, s);
  }

  private swap(s: Extract<LStmt, { k: 'swap' }>): Stmt[] {
    const out = [line(`[${s.a}, ${s.b}] = [${s.b}, ${s.a}];`, s)];
    if (this.v(s.a).partner) out.push(line(`[${this.b(s.a)}, ${this.b(s.b)}] = [${this.b(s.b)}, ${this.b(s.a)}];`, s));
    return out;
  }

  /** The reverse sweep of `body` (statements backwards), popping from `stack`. */
  reverse(body: LStmt[], stack: string, retb?: string): Stmt[] {
    return [...body].reverse().flatMap((s) => this.rev(s, stack, retb));
  }

  /**
   * What the reverse sweep of a loop body or a branch does first: its values again, zero adjoints
   * of the arrays it declares (branches declare none).
   */
  private bodyStart(body: LStmt[]): Stmt[] {
    const out: Stmt[] = [];
    for (const s of body) {
      if (s.k === 'value') out.push(line(`const ${s.name} = ${printExpr(s.init)};`, s));
      if (s.k === 'scratch' && this.v(s.name).partner)
        out.push(line(`${this.b(s.name)} = new ${s.type}(${s.name}.length);`, s));
    }
    return out;
  }

  private rev(s: LStmt, stack: string, retb?: string): Stmt[] {
    switch (s.k) {
      case 'call':
        return [nest('', this.reverseCall(s, stack), undefined, s)];
      case 'scratch':
        return this.v(s.name).inLoop ? [line(`${s.name} = ${stack}.pop() as ${s.type};`, s)] : [];
      case 'alias':
      case 'value':
        return [];
      case 'float':
        return this.v(s.name).inLoop
          ? [line(`${s.name} = ${stack}.pop() as number;`, s), line(`${this.b(s.name)} = 0;`, s)]
          : [];
      case 'copy': {
        const out = this.restoreSaved(s.dst, stack, s);
        if (this.v(s.dst).partner) {
          // a copy of an array onto itself (aliases may meet) is the identity
          const adj: Stmt[] = [];
          if (this.v(s.src).partner) {
            this.runtime.add('accumulate');
            adj.push(line(`accumulate(${this.b(s.src)}, ${this.b(s.dst)}, ${s.src}.length);`, s));
          }
          adj.push(line(`${this.b(s.dst)}.fill(0, 0, ${s.src}.length);`, s));
          out.push(nest(`if (${s.src} !== ${s.dst})`, adj, undefined, s));
        }
        return out;
      }
      case 'fill':
        return [
          ...this.restoreSaved(s.dst, stack, s),
          ...(this.v(s.dst).partner ? [line(`${this.b(s.dst)}.fill(0);`, s)] : []),
        ];
      case 'swap':
        return this.swap(s);
      case 'loop':
        if (s.checkpoint) return [line(`${this.checkpointName(s)}.reverse();`, s)];
        return [
          line(`// from ${this.ctx.fileName}:${s.loc.line}, reversed`, s),
          nest(
            forHeader({ ...s.header, reversed: true }),
            [...this.bodyStart(s.body), ...this.reverse(s.body, stack)],
            undefined,
            s,
          ),
        ];
      case 'return':
        return s.value && retb ? [line(`${this.b(s.value)} += ${retb};`, s)] : [];
      case 'if':
        // the same branch as the forward sweep took (its condition reads inactive values only)
        return [
          {
            k: 'if',
            cond: s.cond,
            then: [...this.bodyStart(s.then), ...this.reverse(s.then, stack)],
            else: [...this.bodyStart(s.else), ...this.reverse(s.else, stack)],
            loc: s.loc,
          },
        ];
    }
  }

  private reverseCall(s: Extract<LStmt, { k: 'call' }>, stack: string): Stmt[] {
    const { names, callees } = this.ctx;
    const callee = callees.get(s.callee)!;
    const out: Stmt[] = [];
    if (s.result) out.push(line(`${s.result.name} = ${stack}.pop() as number;`, s));
    const plan = this.plans.get(s)!;
    const saved = new Map(plan.save.map((w) => [w, names.temp('in')]));
    for (const w of [...plan.save].reverse())
      out.push(line(`const ${saved.get(w)} = ${stack}.pop() as ${this.v(w).type};`, s));
    const restore = (arrays: string[]) => arrays.map((w) => line(`${w}.set(${saved.get(w)});`, s));
    out.push(...restore(plan.before));
    const args = callArgs(this.ctx, callee, s.args, 'b');
    // the seed of the callee's value: the result's adjoint, times the scale (host numbers)
    if (callee.returns !== 'void')
      args.push(
        s.result ? (s.result.scale ? times(s.result.scale, this.b(s.result.name)) : this.b(s.result.name)) : '0',
      );
    // the scalar adjoints K_b returns, added to the arguments' adjoints
    const scalarResults = callee.params.flatMap((p, i) => {
      const a = s.args[i];
      return p.kind === 'scalar' && p.active && a.k === 'scalar' ? [{ key: `${p.name}b`, to: this.b(a.name) }] : [];
    });
    const call = `${adjointName(s.callee)}(${args.join(', ')})`;
    const r = scalarResults.length ? names.temp('r') : undefined;
    out.push(line(r ? `const ${r} = ${call};` : `${call};`, s));
    // the callee's _b leaves its outputs: the calls before it need its inputs
    out.push(...restore(plan.after));
    for (const w of plan.save) out.push(line(`${stack}.release(${saved.get(w)});`, s));
    for (const x of scalarResults) out.push(line(addTo(this.ctx, x.to, `${r}.${x.key}`), s));
    if (s.result?.op === '=') out.push(line(`${this.b(s.result.name)} = 0;`, s));
    return out;
  }

  // ---- checkpointed loops ----

  /** each checkpointed loop's driver, as the reverse sweep reaches it (a const, or popped from the stack) */
  private ckNames = new Map<LStmt, string>();

  private checkpointName(s: LStmt): string {
    return this.ckNames.get(s)!;
  }

  private checkpointForward(s: Extract<LStmt, { k: 'loop' }>, stack: string): Stmt[] {
    const { names, layer } = this.ctx;
    this.checkpointed = true;
    this.runtime.add('checkpointLoop');
    this.runtime.add('copyInto');
    this.runtime.add('releaseCopy');
    const loop = names.temp('ck');
    const slots = names.temp('slots');
    this.ckNames.set(s, loop);
    const { arrays, floats } = checkpointState(this.ctx.layer, s, this.ctx.callees);
    const step = names.temp('step');
    const slot = names.temp('slot');
    const c = names.temp('c');
    // a slot: per array its binding and its adjoint's (when swapped) and a copy; then the floats
    const save: Stmt[] = [line(`const ${c} = (${slots}[${slot}] ??= []);`, s)];
    const restore: Stmt[] = [line(`const ${c} = ${slots}[${slot}];`, s)];
    const free: Stmt[] = [line(`const ${c} = ${slots}[${slot}];`, s)];
    let k = 0;
    for (const a of arrays) {
      if (a.swapped) {
        save.push(line(`${c}[${k}] = ${a.name};`, s));
        restore.push(line(`${a.name} = ${c}[${k++}] as ${a.type};`, s));
        if (a.partner) {
          save.push(line(`${c}[${k}] = ${this.b(a.name)};`, s));
          restore.push(line(`${this.b(a.name)} = ${c}[${k++}] as ${a.type};`, s));
        }
      }
      save.push(line(`${c}[${k}] = copyInto(${c}[${k}] as ${a.type} | undefined, ${a.name});`, s));
      free.push(line(`releaseCopy(${c}[${k}] as ${a.type});`, s));
      restore.push(line(`${a.name}.set(${c}[${k++}] as ${a.type});`, s));
    }
    for (const f of floats) {
      save.push(line(`${c}[${k}] = ${f.name};`, s));
      restore.push(line(`${f.name} = ${c}[${k++}] as number;`, s));
    }
    const t = s.header.v;
    const at = line(`const ${t} = ${iterationValue(s.header, step)};`, s);
    const local = names.temp('saved');
    const bytes =
      [...arrays.map((a) => `${a.name}.byteLength`), ...(floats.length ? [String(8 * floats.length)] : [])].join(
        ' + ',
      ) || '0';
    const slotsField = s.checkpoint!.slots ? `, slots: ${s.checkpoint!.slots}` : '';
    const site = `{ layer: ${JSON.stringify(layer.name)}, line: ${s.loc.line}${slotsField} }`;
    const ops = [
      nest(`save: (${slot}: number) =>`, save, ',', s),
      nest(`restore: (${slot}: number) =>`, restore, ',', s),
      nest(`forward: (${step}: number) =>`, [at, ...this.primal(s.body)], ',', s),
      nest(
        `reverse: (${step}: number) =>`,
        [
          at,
          line(`const ${local} = new SaveStack();`, s),
          nest('', this.forward(s.body, local), undefined, s),
          nest('', [...this.bodyStart(s.body), ...this.reverse(s.body, local)], undefined, s),
        ],
        ',',
        s,
      ),
      nest(`free: (${slot}: number) =>`, [...free, line(`${slots}[${slot}] = [];`, s)], ',', s),
    ];
    const out: Stmt[] = [
      line(
        `// from ${this.ctx.fileName}:${s.loc.line} (@checkpoint): state ${[...arrays, ...floats].map((v) => v.name).join(', ') || 'none'}`,
        s,
      ),
      line(`const ${slots}: unknown[][] = [];`, s),
    ];
    let costs = '';
    if (s.checkpoint!.cost) {
      // the steps' costs (the pragma's cost=), for the schedule of a chain of unequal steps
      costs = names.temp('costs');
      const k = names.temp('k');
      out.push(line(`const ${costs} = Array.from({ length: ${tripCount(s.header)} }, (_, ${k}) => {`, s));
      out.push(line(`  const ${t} = ${iterationValue(s.header, `(${k} + 1)`)};`, s));
      out.push(line(`  return ${printExpr(s.checkpoint!.cost)};`, s), line('});', s));
    }
    out.push(
      nest(
        `const ${loop} = checkpointLoop(${site}, ${costs ? `${costs}.length` : tripCount(s.header)}, ${bytes},`,
        ops,
        costs ? `, ${costs});` : ');',
        s,
      ),
      line(`${loop}.forward();`, s),
    );
    if (this.nested(s)) {
      // one checkpointed run per iteration of the enclosing loop (or none): the reverse sweep pops them
      out.push(line(`${stack}.push(${loop});`, s));
      this.ckNames.set(s, `(${stack}.pop() as ReturnType<typeof checkpointLoop>)`);
      return [nest('', out, undefined, s)];
    }
    return out;
  }

  /** Inside a loop or an if statement: its checkpointed runs go on the stack (a block's const would not reach the reverse sweep). */
  private nested(target: LStmt): boolean {
    const find = (body: LStmt[], nested: boolean): boolean | undefined => {
      for (const x of body) {
        if (x === target) return nested;
        const inner =
          x.k === 'loop' ? find(x.body, true) : x.k === 'if' ? (find(x.then, true) ?? find(x.else, true)) : undefined;
        if (inner !== undefined) return inner;
      }
      return undefined;
    };
    return find(this.ctx.layer.body, false) ?? false;
  }

  /**
   * The untaped primal of a loop body (a checkpointed step): arrays swapped with their adjoints;
   * `alone`: the whole layer's primal (no adjoints, the return kept).
   */
  primal(body: LStmt[], alone = false): Stmt[] {
    return body.flatMap((s): Stmt[] => {
      switch (s.k) {
        case 'call':
          return [this.primalCall(s)];
        case 'scratch':
          return [line(`${s.name} = new ${s.type}(${printExpr(s.length)});`, s)];
        case 'value':
          return [line(`const ${s.name} = ${printExpr(s.init)};`, s)];
        case 'float':
          return [line(`${s.name} = ${printExpr(s.init)};`, s)];
        case 'copy':
          return [line(`${s.dst}.set(${s.src});`, s)];
        case 'fill':
          return [line(`${s.dst}.fill(${printExpr(s.value)});`, s)];
        case 'swap':
          return alone ? [line(`[${s.a}, ${s.b}] = [${s.b}, ${s.a}];`, s)] : this.swap(s);
        case 'loop':
          return [nest(forHeader(s.header), this.primal(s.body, alone), undefined, s)];
        case 'if':
          return [
            { k: 'if', cond: s.cond, then: this.primal(s.then, alone), else: this.primal(s.else, alone), loc: s.loc },
          ];
        case 'alias':
          return alone ? [line(`${s.name} = ${s.of};`, s)] : [];
        case 'return':
          return alone ? [line(s.value ? `return ${s.value};` : 'return;', s)] : [];
      }
    });
  }
}
