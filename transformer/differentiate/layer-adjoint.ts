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
import type { Expr, Stmt, TypeName } from '../ir/types.js';
import type { LStmt, LVar } from '../ir/layer.js';
import { checkpointState, planLayerSaves, printSavePlan, type CallPlan } from '../analysis/layer-saves.js';
import type { FunctionIR } from './function.js';
import { bin, num, v } from '../ir/build.js';
import { adjointName } from '../naming.js';
import {
  apply,
  arrayLike,
  assign,
  block,
  call,
  callArgs,
  cast,
  comment,
  decl,
  effect,
  fromLine,
  iterationValue,
  loop,
  newArray,
  pop,
  runtime,
  scaleOf,
  swap,
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
  for (const x of layer.vars.values()) body.push(...A.hoist(x));
  for (const p of scalars) body.push(decl(names.b(p.name), num(0), undefined, true));
  body.push(decl(A.stack, runtime({ fn: 'SaveStack' })));
  body.push(comment('forward sweep'));
  body.push(...A.forward(layer.body, A.stack));
  const outputs = [...layer.writes];
  for (const a of outputs) body.push({ k: 'saveArray', name: names.saved(a), array: a });
  body.push(comment('reverse sweep'));
  body.push(...A.reverse(layer.body, A.stack, retb));
  for (const a of outputs) body.push({ k: 'restoreArray', name: names.saved(a), array: a });
  if (results.length)
    body.push({ k: 'return', value: { k: 'record', fields: results.map((r) => ({ key: r.key, value: v(r.name) })) } });
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
 * The layer's primal as a generated function (for its WebGPU variant, where the source's `s += k()`
 * becomes `s = add(s, k())`: lower/gpu/layers.ts); the TypeScript output keeps the source text instead.
 */
export function layerPrimal(ctx: LayerContext): FunctionIR {
  const A = new Adjoint(ctx);
  const body: Stmt[] = [];
  for (const x of ctx.layer.vars.values()) body.push(...A.hoistPrimal(x));
  body.push(...A.primal(ctx.layer.body, true));
  return {
    name: ctx.layer.name,
    params: ctx.layer.params.map((p) => ({ name: p.name, type: p.type })),
    returnType: ctx.layer.returns,
    comment: [`Layer ${ctx.layer.name}.`],
    body,
  };
}

type Call = Extract<LStmt, { k: 'call' }>;

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

  private type(name: string): TypeName {
    return this.v(name).type as TypeName;
  }

  b(name: string): string {
    return this.ctx.names.b(name);
  }

  hoist(x: LVar): Stmt[] {
    switch (x.kind) {
      case 'scratch':
      case 'alias': {
        const type = x.type as TypeName;
        const out: Stmt[] = [{ k: 'declare', name: x.name, type }];
        if (x.partner) out.push({ k: 'declare', name: this.b(x.name), type });
        return out;
      }
      case 'float':
        return [decl(x.name, num(0), undefined, true), decl(this.b(x.name), num(0), undefined, true)];
      default:
        return [];
    }
  }

  /** The primal's declarations: arrays and float locals (no adjoints). */
  hoistPrimal(x: LVar): Stmt[] {
    if (x.kind === 'scratch' || x.kind === 'alias') return [{ k: 'declare', name: x.name, type: x.type as TypeName }];
    if (x.kind === 'float') return [decl(x.name, num(0), undefined, true, 'number')];
    return [];
  }

  /** The forward sweep of `body`, saving on `stack`. */
  forward(body: LStmt[], stack: string): Stmt[] {
    return body.flatMap((s) => this.fwd(s, stack));
  }

  private push(stack: string, value: Expr, s: LStmt): Stmt {
    return call({ fn: 'stackPush', stack, value }, s);
  }

  private fwd(s: LStmt, stack: string): Stmt[] {
    switch (s.k) {
      case 'call': {
        const plan = this.plans.get(s)!;
        if (plan.skip) return [];
        const out: Stmt[] = [];
        for (const w of plan.save) out.push(call({ fn: 'stackSave', stack, array: w }, s));
        if (s.result) out.push(this.push(stack, v(s.result.name), s));
        out.push(this.primalCall(s));
        return out;
      }
      case 'scratch': {
        const alloc = assign(s.name, newArray(s.type, s.length), s);
        if (this.v(s.name).inLoop) return [this.push(stack, v(s.name), s), alloc];
        return [alloc, ...(this.v(s.name).partner ? [assign(this.b(s.name), arrayLike(s.type, s.name), s)] : [])];
      }
      case 'alias':
        return [
          assign(s.name, v(s.of), s),
          ...(this.v(s.name).partner ? [assign(this.b(s.name), v(this.b(s.of)), s)] : []),
        ];
      case 'value':
        return [decl(s.name, s.init, s)];
      case 'float':
        return [...(this.v(s.name).inLoop ? [this.push(stack, v(s.name), s)] : []), assign(s.name, s.init, s)];
      case 'copy':
        return [call({ fn: 'stackSave', stack, array: s.dst }, s), call({ fn: 'set', dst: s.dst, src: v(s.src) }, s)];
      case 'fill':
        return [call({ fn: 'stackSave', stack, array: s.dst }, s), call({ fn: 'fill', dst: s.dst, value: s.value }, s)];
      case 'swap':
        return this.swap(s);
      case 'loop':
        if (s.checkpoint) return this.checkpointForward(s, stack);
        return [fromLine(this.ctx, s), loop(s.header, this.forward(s.body, stack))];
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
      decl(t, pop(stack, this.type(dst)), s),
      call({ fn: 'set', dst, src: v(t) }, s),
      call({ fn: 'stackRelease', stack, copy: t }, s),
    ];
  }

  private primalCall(s: Call): Stmt {
    const callee = this.ctx.callees.get(s.callee)!;
    const value = apply(s.callee, callArgs(this.ctx, callee, s.args, 'primal'));
    if (!s.result) return effect(value, s);
    return assign(s.result.name, scaleOf(s.result.scale, value), s, s.result.op);
  }

  private swap(s: Extract<LStmt, { k: 'swap' }>): Stmt[] {
    const out = [swap(s.a, s.b, s)];
    if (this.v(s.a).partner) out.push(swap(this.b(s.a), this.b(s.b), s));
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
      if (s.k === 'value') out.push(decl(s.name, s.init, s));
      if (s.k === 'scratch' && this.v(s.name).partner) out.push(assign(this.b(s.name), arrayLike(s.type, s.name), s));
    }
    return out;
  }

  private rev(s: LStmt, stack: string, retb?: string): Stmt[] {
    switch (s.k) {
      case 'call':
        return [block(this.reverseCall(s, stack), s)];
      case 'scratch':
        return this.v(s.name).inLoop ? [assign(s.name, pop(stack, s.type), s)] : [];
      case 'alias':
      case 'value':
        return [];
      case 'float':
        return this.v(s.name).inLoop
          ? [assign(s.name, pop(stack, 'number'), s), assign(this.b(s.name), num(0), s)]
          : [];
      case 'copy': {
        const out = this.restoreSaved(s.dst, stack, s);
        if (this.v(s.dst).partner) {
          // a copy of an array onto itself (aliases may meet) is the identity
          const adj: Stmt[] = [];
          const length: Expr = { k: 'length', array: s.src };
          if (this.v(s.src).partner) {
            this.runtime.add('accumulate');
            adj.push(call({ fn: 'accumulate', dst: this.b(s.src), src: this.b(s.dst), length }, s));
          }
          adj.push(call({ fn: 'fill', dst: this.b(s.dst), value: num(0), length }, s));
          out.push({ k: 'if', cond: bin('!==', v(s.src), v(s.dst)), then: adj, else: [], loc: s.loc });
        }
        return out;
      }
      case 'fill':
        return [
          ...this.restoreSaved(s.dst, stack, s),
          ...(this.v(s.dst).partner ? [call({ fn: 'fill', dst: this.b(s.dst), value: num(0) }, s)] : []),
        ];
      case 'swap':
        return this.swap(s);
      case 'loop':
        if (s.checkpoint) return [call({ fn: 'checkpointSweep', loop: this.checkpointName(s), sweep: 'reverse' }, s)];
        return [
          fromLine(this.ctx, s, ', reversed'),
          loop(s.header, [...this.bodyStart(s.body), ...this.reverse(s.body, stack)], true),
        ];
      case 'return':
        return s.value && retb ? [assign(this.b(s.value), v(retb), s, '+=')] : [];
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

  private reverseCall(s: Call, stack: string): Stmt[] {
    const { names, callees } = this.ctx;
    const callee = callees.get(s.callee)!;
    const out: Stmt[] = [];
    if (s.result) out.push(assign(s.result.name, pop(stack, 'number'), s));
    const plan = this.plans.get(s)!;
    const saved = new Map(plan.save.map((w) => [w, names.temp('in')]));
    for (const w of [...plan.save].reverse()) out.push(decl(saved.get(w)!, pop(stack, this.type(w)), s));
    const restore = (arrays: string[]) => arrays.map((w) => call({ fn: 'set', dst: w, src: v(saved.get(w)!) }, s));
    out.push(...restore(plan.before));
    const args = callArgs(this.ctx, callee, s.args, 'b');
    // the seed of the callee's value: the result's adjoint, times the scale (host numbers)
    if (callee.returns !== 'void') args.push(s.result ? scaleOf(s.result.scale, v(this.b(s.result.name))) : num(0));
    // the scalar adjoints K_b returns, added to the arguments' adjoints
    const scalarResults = callee.params.flatMap((p, i) => {
      const a = s.args[i];
      return p.kind === 'scalar' && p.active && a.k === 'scalar' ? [{ key: `${p.name}b`, to: this.b(a.name) }] : [];
    });
    const value = apply(adjointName(s.callee), args);
    const r = scalarResults.length ? names.temp('r') : undefined;
    out.push(r ? decl(r, value, s) : effect(value, s));
    // the callee's _b leaves its outputs: the calls before it need its inputs
    out.push(...restore(plan.after));
    for (const w of plan.save) out.push(call({ fn: 'stackRelease', stack, copy: saved.get(w)! }, s));
    for (const x of scalarResults) out.push(assign(x.to, { k: 'member', e: v(r!), key: x.key }, s, '+='));
    if (s.result?.op === '=') out.push(assign(this.b(s.result.name), num(0), s));
    return out;
  }

  // ---- checkpointed loops ----

  /** each checkpointed loop's driver, as the reverse sweep reaches it (a const, or popped from the stack) */
  private ckNames = new Map<LStmt, Expr>();

  private checkpointName(s: LStmt): Expr {
    return this.ckNames.get(s)!;
  }

  private checkpointForward(s: Extract<LStmt, { k: 'loop' }>, stack: string): Stmt[] {
    const { names, layer } = this.ctx;
    this.checkpointed = true;
    this.runtime.add('checkpointLoop');
    this.runtime.add('copyInto');
    this.runtime.add('releaseCopy');
    const driver = names.temp('ck');
    const slots = names.temp('slots');
    this.ckNames.set(s, v(driver));
    const { arrays, floats } = checkpointState(this.ctx.layer, s, this.ctx.callees);
    const step = names.temp('step');
    const slot = names.temp('slot');
    const c = names.temp('c');
    const slotArray = (k: number): Expr => ({ k: 'index', array: c, index: num(k) });
    const put = (k: number, value: Expr): Stmt => ({
      k: 'assign',
      target: { k: 'index', array: c, index: num(k) },
      op: '=',
      value,
      loc: s.loc,
    });
    // a slot: per array its binding and its adjoint's (when swapped) and a copy; then the floats
    const thisSlot: Expr = { k: 'index', array: slots, index: v(slot) };
    const save: Stmt[] = [decl(c, runtime({ fn: 'slot', slots, slot }), s)];
    const restore: Stmt[] = [decl(c, thisSlot, s)];
    const free: Stmt[] = [decl(c, thisSlot, s)];
    let k = 0;
    for (const a of arrays) {
      const type = a.type as TypeName;
      if (a.swapped) {
        save.push(put(k, v(a.name)));
        restore.push(assign(a.name, cast(slotArray(k++), type), s));
        if (a.partner) {
          save.push(put(k, v(this.b(a.name))));
          restore.push(assign(this.b(a.name), cast(slotArray(k++), type), s));
        }
      }
      save.push(put(k, runtime({ fn: 'copyInto', into: cast(slotArray(k), type, true), src: a.name })));
      free.push(call({ fn: 'releaseCopy', copy: cast(slotArray(k), type) }, s));
      restore.push(call({ fn: 'set', dst: a.name, src: cast(slotArray(k++), type) }, s));
    }
    for (const f of floats) {
      save.push(put(k, v(f.name)));
      restore.push(assign(f.name, cast(slotArray(k++), 'number'), s));
    }
    const t = s.header.v;
    const at = decl(t, iterationValue(s.header, v(step)), s);
    const local = names.temp('saved');
    const sizes: Expr[] = [
      ...arrays.map((a): Expr => ({ k: 'member', e: v(a.name), key: 'byteLength' })),
      ...(floats.length ? [num(8 * floats.length)] : []),
    ];
    const bytes = sizes.length ? sizes.reduce((x, y) => bin('+', x, y)) : num(0);
    const slotParam = [{ name: slot, type: 'number' as const }];
    const stepParam = [{ name: step, type: 'number' as const }];
    const ops = {
      save: { params: slotParam, body: save },
      restore: { params: slotParam, body: restore },
      forward: { params: stepParam, body: [at, ...this.primal(s.body)] },
      reverse: {
        params: stepParam,
        body: [
          at,
          decl(local, runtime({ fn: 'SaveStack' }), s),
          block(this.forward(s.body, local), s),
          block([...this.bodyStart(s.body), ...this.reverse(s.body, local)], s),
        ],
      },
      free: {
        params: slotParam,
        body: [...free, { k: 'assign', target: thisSlot, op: '=', value: { k: 'tuple', items: [] }, loc: s.loc }],
      },
    } satisfies Record<string, { params: { name: string; type: 'number' }[]; body: Stmt[] }>;
    const state = [...arrays, ...floats].map((x) => x.name).join(', ') || 'none';
    const out: Stmt[] = [
      fromLine(this.ctx, s, ` (@checkpoint): state ${state}`),
      decl(slots, { k: 'tuple', items: [] }, s, false, 'slots'),
    ];
    let costs: string | undefined;
    if (s.checkpoint!.cost) {
      // the steps' costs (the pragma's cost=), for the schedule of a chain of unequal steps
      costs = names.temp('costs');
      const i = names.temp('k');
      const map = {
        params: [{ name: '_' }, { name: i }],
        body: [
          decl(t, iterationValue(s.header, v(i), 0), s),
          { k: 'return', value: s.checkpoint!.cost, loc: s.loc } satisfies Stmt,
        ],
      };
      out.push(decl(costs, runtime({ fn: 'arrayFrom', length: tripCount(s.header), map }), s));
    }
    const site = {
      layer: layer.name,
      line: s.loc.line,
      ...(s.checkpoint!.slots ? { slots: s.checkpoint!.slots } : {}),
    };
    const steps: Expr = costs ? { k: 'length', array: costs } : tripCount(s.header);
    out.push(
      decl(driver, runtime({ fn: 'checkpointLoop', site, steps, bytes, ops, ...(costs ? { costs } : {}) }), s),
      call({ fn: 'checkpointSweep', loop: v(driver), sweep: 'forward' }, s),
    );
    if (this.nested(s)) {
      // one checkpointed run per iteration of the enclosing loop (or none): the reverse sweep pops them
      out.push(this.push(stack, v(driver), s));
      this.ckNames.set(s, pop(stack, 'checkpoint'));
      return [block(out, s)];
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
          return [assign(s.name, newArray(s.type, s.length), s)];
        case 'value':
          return [decl(s.name, s.init, s)];
        case 'float':
          return [assign(s.name, s.init, s)];
        case 'copy':
          return [call({ fn: 'set', dst: s.dst, src: v(s.src) }, s)];
        case 'fill':
          return [call({ fn: 'fill', dst: s.dst, value: s.value }, s)];
        case 'swap':
          return alone ? [swap(s.a, s.b, s)] : this.swap(s);
        case 'loop':
          return [loop(s.header, this.primal(s.body, alone))];
        case 'if':
          return [
            { k: 'if', cond: s.cond, then: this.primal(s.then, alone), else: this.primal(s.else, alone), loc: s.loc },
          ];
        case 'alias':
          return alone ? [assign(s.name, v(s.of), s)] : [];
        case 'return':
          return alone ? [{ k: 'return', ...(s.value ? { value: v(s.value) } : {}), loc: s.loc }] : [];
      }
    });
  }
}
