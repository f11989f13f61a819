/**
 * Lowering of `@layer` functions (ts-morph AST → layer IR, ./layer.ts). A layer's statements are
 * calls of kernels and layers, scratch arrays, copies, swaps and sequential loops; its values
 * (sizes, offsets, loop bounds) are kernel-language expressions, lowered by the kernel `Lowerer`.
 * Handlers are tables keyed by syntax kind; every problem is reported at its location (PARAD14xx).
 */
import {
  Node,
  SyntaxKind,
  type FunctionDeclaration,
  type Statement,
  type Expression,
  type ForStatement,
  type CallExpression,
} from 'ts-morph';
import { DiagnosticSink } from '../diagnostics.js';
import { parseSource } from './parse.js';
import { CODES } from '../check/codes.js';
import { ARRAY_TYPES, Lowerer, pragmaBefore, unparen } from './lower.js';
import type { Expr, Param, ArrayType } from '../ir/types.js';
import { isFloatArray } from '../ir/types.js';
import type { Callee, LArg, LStmt, LVar, Layer } from '../ir/layer.js';
import { forEachLStmt, layerAccesses } from '../ir/layer.js';
import { div, mul, num, readsOf, walkExpr } from '../ir/build.js';

type Code = keyof typeof CODES;

/** An array variable: a parameter, a scratch array or an alias of one. */
const isArrayVar = (v: LVar) => v.kind === 'arrayParam' || v.kind === 'scratch' || v.kind === 'alias';

export class LayerLowerer {
  private readonly kl: Lowerer;
  private vars = new Map<string, LVar>();
  /** names visible at this point, innermost block last */
  private scopes: Set<string>[] = [];
  /** float locals: the names call results are assigned or added to */
  private floatTargets = new Set<string>();

  constructor(
    private readonly sink: DiagnosticSink,
    private readonly callees: Map<string, Callee>,
  ) {
    this.kl = new Lowerer(sink);
  }

  error(node: Node, code: Code, detail: string): void {
    this.sink.error(CODES[code], detail, node.getStart(), node.getEnd());
  }

  loc(node: Node) {
    return this.kl.loc(node);
  }

  layer(fn: FunctionDeclaration, doc: string, nodiff: string[]): Layer | undefined {
    const sig = this.kl.signature(fn, nodiff, 'layer');
    const body = fn.getBody();
    if (!sig) return undefined;
    if (!body || !Node.isBlock(body)) {
      this.error(fn, 'noBody', `layer '${sig.name}' needs a body`);
      return undefined;
    }
    this.vars = new Map();
    this.scopes = [new Set()];
    for (const p of sig.params) {
      this.declare(
        p.name,
        {
          name: p.name,
          kind: p.kind === 'array' ? 'arrayParam' : 'scalarParam',
          type: p.type,
          partner: p.active,
          inLoop: false,
        },
        fn,
      );
    }
    // float locals are the targets of call results
    body.forEachDescendant((n) => {
      if (Node.isBinaryExpression(n) && ['=', '+='].includes(n.getOperatorToken().getText()) && hasCall(n.getRight())) {
        const t = unparen(n.getLeft());
        if (Node.isIdentifier(t)) this.floatTargets.add(t.getText());
      }
      if (Node.isVariableDeclaration(n) && n.getInitializer() && hasCall(n.getInitializer()!))
        this.floatTargets.add(n.getName());
    });
    const stmts = this.block(body.getStatements());
    this.checkReturn(sig.returns, stmts, fn, sig.name);
    const layer: Layer = {
      name: sig.name,
      params: sig.params,
      returns: sig.returns,
      body: stmts,
      vars: this.vars,
      writes: new Set(),
      reads: new Set(),
      sourceText: fn.getText(true),
      doc,
      loc: this.loc(fn),
    };
    Object.assign(layer, layerAccesses(layer, this.callees));
    return layer;
  }

  private checkReturn(returns: Layer['returns'], body: LStmt[], fn: FunctionDeclaration, name: string): void {
    forEachLStmt(body, (s) => {
      if (s.k === 'return' && s !== body[body.length - 1]) {
        this.sink.error(
          CODES.returnPlace,
          'return must be the last statement of the layer (no early returns)',
          s.loc.start,
          s.loc.end,
        );
      }
    });
    const last = body[body.length - 1];
    if (returns !== 'void' && (last?.k !== 'return' || !last.value)) {
      this.sink.error(
        CODES.missingReturn,
        `layer '${name}' returns ${returns}: end it with return <call> or return <float local>`,
        fn.getStart(),
        fn.getEnd(),
      );
    }
    if (returns === 'void' && last?.k === 'return' && last.value) {
      this.sink.error(
        CODES.returnPlace,
        `layer '${name}' returns void; declare the return type f32 or f64 to return a value`,
        last.loc.start,
        last.loc.end,
      );
    }
  }

  private declare(name: string, v: LVar, node: Node): void {
    const old = this.vars.get(name);
    // loop variables and values of sibling blocks may share a name (the generated code declares them per block)
    const blockLocal = (x: LVar) => x.kind === 'loopVar' || (x.kind === 'value' && x.inLoop);
    const visible = this.scopes.some((s) => s.has(name));
    if (old && (visible || !blockLocal(old) || !blockLocal(v) || old.kind !== v.kind)) {
      this.error(
        node,
        'duplicateName',
        `'${name}' is already declared in this layer; layers need distinct names (loop variables and values inside loops may repeat in sibling loops)`,
      );
      return;
    }
    this.vars.set(name, v);
    this.scopes[this.scopes.length - 1].add(name);
  }

  /** The variable `name` refers to, if it is visible here. */
  lookup(name: string, node: Node): LVar | undefined {
    const v = this.scopes.some((s) => s.has(name)) ? this.vars.get(name) : undefined;
    if (!v) this.error(node, 'unknownName', `'${name}' is not a parameter or local of this layer`);
    return v;
  }

  arrayVar(e: Node): string | undefined {
    const x = unparen(e);
    if (!Node.isIdentifier(x)) {
      this.error(x, 'layerArgument', `pass an array variable here (layers cannot make views or expressions of arrays)`);
      return undefined;
    }
    const v = this.lookup(x.getText(), x);
    if (v && !isArrayVar(v)) {
      this.error(x, 'layerArgument', `'${x.getText()}' is not an array`);
      return undefined;
    }
    return v?.name;
  }

  /** An inactive value (sizes, offsets, literals): no array elements, no active floats. */
  value(
    e: Expression,
    kl: Lowerer = this.kl,
    report: (node: Node, code: Code, detail: string) => void = (n, c, d) => this.error(n, c, d),
  ): Expr {
    const visible = [...new Set(this.scopes.flatMap((s) => [...s]))].map((n) => this.vars.get(n)!);
    const expr = kl.inScope(() => {
      for (const v of visible) {
        kl.declare(v.name, isArrayVar(v) ? 'array' : v.kind === 'loopVar' ? 'loopVar' : 'const', e);
      }
      return kl.expr(e);
    });
    let bad = false;
    walkExpr(expr, (x) => {
      if (x.k === 'index' && !bad) {
        bad = true;
        report(e, 'layerValue', `layers cannot read array elements (${x.array}[…]); do it in a kernel`);
      }
    });
    for (const name of readsOf(expr)) {
      const v = this.vars.get(name);
      if (v?.partner && (v.kind === 'float' || v.kind === 'scalarParam') && !bad) {
        bad = true;
        report(
          e,
          'layerValue',
          `'${name}' is an active float: layers pass it to kernels as it is; compute with it in a kernel`,
        );
      }
    }
    return expr;
  }

  block(stmts: Statement[]): LStmt[] {
    const out: LStmt[] = [];
    for (const s of stmts) {
      const handler = LAYER_STATEMENTS[s.getKind()];
      if (!handler) {
        this.error(
          s,
          'layerStatement',
          `this statement is not supported in layers (calls of kernels and layers, scratch arrays, .set/.fill, swaps, for loops, if statements and return are)`,
        );
        continue;
      }
      const r = handler(this, s);
      if (r) out.push(...(Array.isArray(r) ? r : [r]));
    }
    return out;
  }

  /** `callee(args)`: the callee a kernel or layer, each argument matching its parameter. */
  call(e: CallExpression): { callee: Callee; args: LArg[] } | undefined {
    const target = e.getExpression();
    const name = target.getText();
    const callee = Node.isIdentifier(target) ? this.callees.get(name) : undefined;
    if (!callee) {
      this.error(
        target,
        'layerCall',
        `'${name}' is not a kernel or layer of this file or of a file it imports (layers call /** @kernel */ and /** @layer */ functions)`,
      );
      return undefined;
    }
    const args = e.getArguments() as Expression[];
    if (args.length !== callee.params.length) {
      this.error(e, 'arity', `${callee.kind} '${name}' takes ${callee.params.length} arguments, got ${args.length}`);
      return undefined;
    }
    const out: LArg[] = [];
    callee.params.forEach((p, i) => {
      const a = args[i];
      if (p.kind === 'array') {
        const v = this.arrayVar(a);
        const t = v && this.vars.get(v)!.type;
        if (v && t !== p.type)
          this.error(a, 'layerArgument', `parameter '${p.name}' of '${name}' is a ${p.type}; '${v}' is a ${t}`);
        out.push({ k: 'array', name: v ?? '' });
        return;
      }
      const x = unparen(a);
      const v = Node.isIdentifier(x) ? this.vars.get(x.getText()) : undefined;
      if (p.float && v?.partner && (v.kind === 'float' || v.kind === 'scalarParam')) {
        this.lookup(v.name, x);
        out.push({ k: 'scalar', name: v.name });
        return;
      }
      out.push({ k: 'value', e: this.value(a) });
    });
    return { callee, args: out };
  }

  loop(s: ForStatement): LStmt | undefined {
    const h = this.kl.loopHeader(s);
    if (!h) return undefined;
    if (pragmaBefore(s, 'parallel') !== undefined) {
      this.error(s, 'layerStatement', 'a layer loop runs its calls in sequence: put @parallel loops in kernels');
    }
    const pragma = pragmaBefore(s, 'checkpoint');
    let checkpoint: { slots?: number; cost?: Expr } | undefined;
    let costText: string | undefined;
    if (pragma !== undefined) {
      checkpoint = {};
      // cost=<expression> takes the rest of the line
      const at = pragma.search(/(^|\s)cost=/);
      if (at >= 0) costText = pragma.slice(pragma.indexOf('cost=', at) + 5).trim();
      for (const part of (at >= 0 ? pragma.slice(0, at) : pragma).split(/\s+/).filter(Boolean)) {
        const m = /^slots=(\d+)$/.exec(part);
        if (m && Number(m[1]) >= 1) checkpoint.slots = Number(m[1]);
        else
          this.error(
            s,
            'checkpointPragma',
            `unknown @checkpoint option '${part}'; write // @checkpoint, then slots=<n >= 1> and cost=<expression of the loop variable>`,
          );
      }
    }
    const init = this.value(h.initExpr);
    return this.nested('loop', () => {
      this.declare(h.iv, { name: h.iv, kind: 'loopVar', type: 'number', partner: false, inLoop: true }, h.decl);
      const bound = this.value(h.bound);
      if (checkpoint && costText !== undefined) checkpoint.cost = this.pragmaValue(costText, s);
      return {
        k: 'loop',
        header: {
          k: 'for',
          v: h.iv,
          init,
          cmp: h.cmp,
          bound,
          step: h.step,
          body: [],
          parallel: false,
          loc: this.loc(s),
        },
        body: this.statements(s.getStatement()),
        checkpoint,
        loc: this.loc(s),
      };
    });
  }

  private depth = { loop: 0, branch: 0 };

  /** `f` in a block of its own (a scope) inside a loop or a branch. */
  private nested<T>(kind: 'loop' | 'branch', f: () => T): T {
    this.scopes.push(new Set());
    this.depth[kind]++;
    try {
      return f();
    } finally {
      this.scopes.pop();
      this.depth[kind]--;
    }
  }

  /** The statements of a loop body or a branch (a block or one statement). */
  private statements(st: Statement): LStmt[] {
    return this.block(Node.isBlock(st) ? st.getStatements() : [st]);
  }

  /**
   * An expression written in a pragma (`cost=…`), lowered as a value where the loop starts; its
   * problems are reported at the loop.
   */
  private pragmaValue(text: string, at: Node): Expr | undefined {
    const inner = new DiagnosticSink('pragma', `(${text});`);
    const expr = parseSource(`(${text});`, (sf) => {
      const st = sf.getStatements()[0];
      if (sf.getStatements().length !== 1 || !st || !Node.isExpressionStatement(st)) return undefined;
      return this.value(st.getExpression(), new Lowerer(inner), (n, c, d) =>
        inner.error(CODES[c], d, n.getStart(), n.getEnd()),
      );
    });
    const problem = !expr ? 'not one expression' : inner.list.find((d) => d.severity === 'error')?.message;
    if (problem !== undefined) {
      this.error(
        at,
        'checkpointPragma',
        `@checkpoint cost=${text}: ${problem} (the cost of a step is an expression of the loop variable and the layer's values)`,
      );
      return undefined;
    }
    return expr;
  }

  get inLoop(): boolean {
    return this.depth.loop > 0;
  }

  /** inside an if statement of the layer */
  get inBranch(): boolean {
    return this.depth.branch > 0;
  }

  /** `if (cond) … else …`: the condition an inactive value, each branch a block of layer statements. */
  branch(s: import('ts-morph').IfStatement): LStmt {
    const cond = this.value(s.getExpression());
    const part = (st: Statement | undefined) => (st ? this.nested('branch', () => this.statements(st)) : []);
    return { k: 'if', cond, then: part(s.getThenStatement()), else: part(s.getElseStatement()), loc: this.loc(s) };
  }

  newVar(name: string, v: Omit<LVar, 'name' | 'inLoop'>, node: Node): void {
    this.declare(name, { name, inLoop: this.inLoop, ...v }, node);
  }

  isFloatTarget(name: string): boolean {
    return this.floatTargets.has(name);
  }

  variable(name: string): LVar | undefined {
    return this.vars.get(name);
  }
}

type Handler = (L: LayerLowerer, s: Statement) => LStmt | LStmt[] | undefined;

/** `const x = …`: a scratch array, an alias, a float local (a call's result or a literal) or a value. */
function declaration(L: LayerLowerer, d: import('ts-morph').VariableDeclaration, isLet: boolean): LStmt[] {
  const name = d.getName();
  const init = d.getInitializer();
  if (!Node.isIdentifier(d.getNameNode())) {
    L.error(d, 'destructuring', 'destructuring declarations are not supported in layers');
    return [];
  }
  if (!init) {
    L.error(d, 'noInit', `local '${name}' needs an initial value`);
    return [];
  }
  const x = unparen(init);
  const loc = L.loc(d);
  const typeText = d.getTypeNode()?.getText();
  if (Node.isNewExpression(x)) {
    const ctor = x.getExpression().getText();
    const args = x.getArguments() as Expression[];
    if (!ARRAY_TYPES.has(ctor) || args.length !== 1) {
      L.error(
        x,
        'layerScratch',
        `scratch arrays are new Float32Array(n), new Float64Array(n), new Int32Array(n) or new Uint32Array(n)`,
      );
      return [];
    }
    const length = L.value(args[0]);
    if (L.inBranch)
      L.error(
        d,
        'layerScratch',
        `declare scratch arrays outside if statements (the adjoint allocates their adjoints where they are declared)`,
      );
    L.newVar(name, { kind: 'scratch', type: ctor, partner: isFloatArray(ctor) }, d.getNameNode());
    return [{ k: 'scratch', name, type: ctor as ArrayType, length, loc }];
  }
  if (hasCall(x)) {
    L.newVar(name, { kind: 'float', type: typeText ?? 'number', partner: true }, d.getNameNode());
    const call = resultCall(L, x, name, '=', loc);
    return call ? [{ k: 'float', name, init: num(0), loc }, call] : [];
  }
  if (Node.isIdentifier(x)) {
    const of = L.variable(x.getText());
    if (of && isArrayVar(of)) {
      if (L.inLoop || L.inBranch)
        L.error(
          d,
          'layerSwap',
          `declare array aliases (let ${name} = ${of.name}) at the top level of the layer, outside loops and if statements`,
        );
      if (!isLet) L.error(d, 'layerSwap', `an array alias is for swapping: declare it with let`);
      L.lookup(of.name, x);
      L.newVar(name, { kind: 'alias', type: of.type, partner: of.partner }, d.getNameNode());
      return [{ k: 'alias', name, of: of.name, loc }];
    }
  }
  if (L.isFloatTarget(name)) {
    if (!isLet) L.error(d, 'layerFloat', `'${name}' is assigned call results: declare it with let`);
    const value = L.value(init);
    L.newVar(name, { kind: 'float', type: typeText ?? 'number', partner: true }, d.getNameNode());
    return [{ k: 'float', name, init: value, loc }];
  }
  if (isLet)
    L.error(
      d,
      'layerValue',
      `'${name}': layer values are constants (declare it with const); floats that change are the results of calls`,
    );
  const value = L.value(init);
  L.newVar(name, { kind: 'value', type: typeText ?? 'number', partner: false }, d.getNameNode());
  return [{ k: 'value', name, init: value, loc }];
}

/** `x = call(…)`, `x += call(…)`, `[a, b] = [b, a]`, `a.set(b)`, `a.fill(v)`, `call(…)` */
function expressionStatement(L: LayerLowerer, s: Statement): LStmt | undefined {
  if (!Node.isExpressionStatement(s)) return undefined;
  const e = unparen(s.getExpression());
  const loc = L.loc(s);
  if (Node.isBinaryExpression(e) && ['=', '+='].includes(e.getOperatorToken().getText())) {
    const left = unparen(e.getLeft());
    const right = unparen(e.getRight());
    if (
      Node.isArrayLiteralExpression(left) &&
      Node.isArrayLiteralExpression(right) &&
      e.getOperatorToken().getText() === '='
    ) {
      const [a, b] = left.getElements().map((n) => n.getText());
      const [c, d] = right.getElements().map((n) => n.getText());
      if (left.getElements().length !== 2 || right.getElements().length !== 2 || a !== d || b !== c || a === b) {
        L.error(e, 'layerSwap', 'the only array assignment in layers is a swap: [a, b] = [b, a]');
        return undefined;
      }
      const va = L.arrayVar(left.getElements()[0]);
      const vb = L.arrayVar(left.getElements()[1]);
      if (!va || !vb) return undefined;
      for (const v of [L.variable(va)!, L.variable(vb)!]) {
        if (v.kind === 'arrayParam')
          L.error(e, 'layerSwap', `cannot swap parameter '${v.name}': swap local aliases (let a = ${v.name})`);
        else if (v.inLoop)
          L.error(
            e,
            'layerSwap',
            `cannot swap '${v.name}', declared inside a loop: declare swapped arrays at the layer's top level`,
          );
        v.swapped = true;
      }
      const [x, y] = [L.variable(va)!, L.variable(vb)!];
      if (x.type !== y.type || x.partner !== y.partner)
        L.error(
          e,
          'layerSwap',
          `'${va}' (${x.type}${x.partner ? '' : ', inactive'}) and '${vb}' (${y.type}${y.partner ? '' : ', inactive'}) cannot be swapped`,
        );
      return { k: 'swap', a: va, b: vb, loc };
    }
    if (Node.isIdentifier(left) && hasCall(right)) {
      const v = L.lookup(left.getText(), left);
      if (v && v.kind !== 'float') {
        L.error(
          left,
          'layerFloat',
          `'${v.name}' cannot be assigned: call results go to float locals (let ${v.name} = 0)`,
        );
        return undefined;
      }
      const call = resultCall(L, right, left.getText(), e.getOperatorToken().getText() as '=' | '+=', loc);
      return v ? call : undefined;
    }
    L.error(
      e,
      'layerFloat',
      'layers assign only call results (times a value) to float locals (x = k(…), x += c * k(…)) and swap arrays ([a, b] = [b, a])',
    );
    return undefined;
  }
  if (Node.isCallExpression(e)) {
    const target = e.getExpression();
    if (Node.isPropertyAccessExpression(target) && ['set', 'fill'].includes(target.getName())) {
      const dst = L.arrayVar(target.getExpression());
      const args = e.getArguments() as Expression[];
      if (!dst) return undefined;
      if (target.getName() === 'set') {
        const src = args.length === 1 ? L.arrayVar(args[0]) : undefined;
        if (args.length !== 1) L.error(e, 'layerStatement', `${dst}.set(src) takes one array (no offset)`);
        if (!src) return undefined;
        const [x, y] = [L.variable(dst)!, L.variable(src)!];
        if (x.type !== y.type) L.error(e, 'layerArgument', `copying a ${y.type} into a ${x.type}`);
        return { k: 'copy', dst, src, loc };
      }
      if (args.length !== 1) {
        L.error(e, 'layerStatement', `${dst}.fill(value) takes one value (no range)`);
        return undefined;
      }
      return { k: 'fill', dst, value: L.value(args[0]), loc };
    }
    const c = L.call(e);
    return c && { k: 'call', callee: c.callee.name, args: c.args, loc };
  }
  L.error(e, 'layerStatement', 'this expression is not supported in layers');
  return undefined;
}

const LAYER_STATEMENTS: Partial<Record<SyntaxKind, Handler>> = {
  [SyntaxKind.VariableStatement]: (L, s) => {
    if (!Node.isVariableStatement(s)) return undefined;
    if (s.getDeclarationKind() === 'var') {
      L.error(s, 'varDecl', 'use const or let, not var');
      return undefined;
    }
    return s.getDeclarations().flatMap((d) => declaration(L, d, s.getDeclarationKind() === 'let'));
  },
  [SyntaxKind.ExpressionStatement]: expressionStatement,
  [SyntaxKind.ForStatement]: (L, s) => (Node.isForStatement(s) ? L.loop(s) : undefined),
  [SyntaxKind.IfStatement]: (L, s) => (Node.isIfStatement(s) ? L.branch(s) : undefined),
  [SyntaxKind.Block]: (L, s) => (Node.isBlock(s) ? L.block(s.getStatements()) : undefined),
  [SyntaxKind.ReturnStatement]: (L, s) => {
    if (!Node.isReturnStatement(s)) return undefined;
    const e = s.getExpression();
    const loc = L.loc(s);
    if (!e) return { k: 'return', loc };
    const x = unparen(e);
    if (Node.isIdentifier(x)) {
      const v = L.lookup(x.getText(), x);
      if (v && v.kind !== 'float')
        L.error(x, 'layerFloat', `return a float local or a call's result ('${v.name}' is not one)`);
      return { k: 'return', value: x.getText(), loc };
    }
    if (hasCall(x)) {
      let name = '_result';
      for (let i = 1; L.variable(name); i++) name = `_result${i}`;
      const call = resultCall(L, x, name, '=', loc);
      if (!call) return undefined;
      L.newVar(name, { kind: 'float', type: 'number', partner: true }, x);
      return [{ k: 'float', name, init: num(0), loc }, call, { k: 'return', value: name, loc }];
    }
    L.error(x, 'layerFloat', 'return a float local or a call of a kernel or layer (times a value)');
    return undefined;
  },
};

/** Does `e` call a kernel or layer (a call of a plain name; `Math.…` calls are values)? */
function hasCall(e: Node): boolean {
  const x = unparen(e);
  if (Node.isCallExpression(x) && Node.isIdentifier(x.getExpression())) return true;
  return x.getDescendants().some((n) => Node.isCallExpression(n) && Node.isIdentifier(n.getExpression()));
}

/**
 * A call's value times a value: `k(…)`, `c * k(…)`, `k(…) * c`, `k(…) / c`, `-k(…)` (c inactive);
 * anything else is reported.
 */
function scaledCall(L: LayerLowerer, e: Node): { call: CallExpression; scale?: Expr } | undefined {
  const x = unparen(e);
  if (Node.isCallExpression(x) && Node.isIdentifier(x.getExpression())) return { call: x };
  const times = (inner: { call: CallExpression; scale?: Expr } | undefined, by: Expr) =>
    inner && { call: inner.call, scale: inner.scale ? mul(by, inner.scale) : by };
  if (Node.isPrefixUnaryExpression(x) && x.getOperatorToken() === SyntaxKind.MinusToken)
    return times(scaledCall(L, x.getOperand()), num(-1));
  if (Node.isBinaryExpression(x)) {
    const op = x.getOperatorToken().getText();
    const [l, r] = [x.getLeft(), x.getRight()];
    if (op === '*' && hasCall(r) && !hasCall(l)) return times(scaledCall(L, r), L.value(l));
    if ((op === '*' || op === '/') && hasCall(l) && !hasCall(r)) {
      const by = L.value(r);
      return times(scaledCall(L, l), op === '*' ? by : div(num(1), by));
    }
  }
  L.error(
    x,
    'layerFloat',
    "a float local of a layer holds a call's value, times a value at most (x = c * k(…)); compute anything else in a kernel",
  );
  return undefined;
}

/**
 * `name = c · callee(…)` (or `+=`) from `e`, a call times a value at most: its statement, or
 * undefined (reported), and an error when the callee returns nothing.
 */
function resultCall(L: LayerLowerer, e: Node, name: string, op: '=' | '+=', loc: LStmt['loc']): LStmt | undefined {
  const sc = scaledCall(L, e);
  const c = sc && L.call(sc.call);
  if (!sc || !c) return undefined;
  if (c.callee.returns === 'void') L.error(e, 'layerCall', `'${c.callee.name}' returns nothing`);
  return { k: 'call', callee: c.callee.name, args: c.args, result: { name, op, scale: sc.scale }, loc };
}

export type { Param };
