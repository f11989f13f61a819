/**
 * Lowering: ts-morph AST of one kernel → IR. Anything outside the kernel language is reported
 * (PARAD1xxx) at its location; lowering goes on so one run reports every problem in a file.
 * Handlers are tables keyed by syntax kind, not one switch over all nodes.
 */
import {
  Node,
  SyntaxKind,
  type FunctionDeclaration,
  type Expression,
  type Statement,
  type ForStatement,
} from 'ts-morph';
import type { DiagnosticSink } from '../diagnostics.js';
import type {
  Expr,
  Stmt,
  Kernel,
  Param,
  ScalarType,
  ArrayType,
  BinaryOp,
  LValue,
  AssignOp,
  Loc,
  ForLoop,
} from '../ir/types.js';
import { isFloatArray, isFloatScalar } from '../ir/types.js';
import { MATH_CONSTANTS, OPS, isMathFunction } from '../ir/ops.js';
import { num } from '../ir/build.js';
import { CODES } from '../check/codes.js';
import { parseParallelPragma } from './pragma.js';

const SCALAR_TYPES = new Set(['f32', 'f64', 'i32', 'u32']);
export const ARRAY_TYPES = new Set(['Float32Array', 'Float64Array', 'Int32Array', 'Uint32Array']);

const BINARY_OPS: Partial<Record<SyntaxKind, BinaryOp>> = {
  [SyntaxKind.PlusToken]: '+',
  [SyntaxKind.MinusToken]: '-',
  [SyntaxKind.AsteriskToken]: '*',
  [SyntaxKind.SlashToken]: '/',
  [SyntaxKind.PercentToken]: '%',
  [SyntaxKind.LessThanToken]: '<',
  [SyntaxKind.LessThanEqualsToken]: '<=',
  [SyntaxKind.GreaterThanToken]: '>',
  [SyntaxKind.GreaterThanEqualsToken]: '>=',
  [SyntaxKind.EqualsEqualsEqualsToken]: '===',
  [SyntaxKind.ExclamationEqualsEqualsToken]: '!==',
  [SyntaxKind.EqualsEqualsToken]: '==',
  [SyntaxKind.ExclamationEqualsToken]: '!=',
  [SyntaxKind.AmpersandAmpersandToken]: '&&',
  [SyntaxKind.BarBarToken]: '||',
  [SyntaxKind.GreaterThanGreaterThanToken]: '>>',
  [SyntaxKind.LessThanLessThanToken]: '<<',
  [SyntaxKind.GreaterThanGreaterThanGreaterThanToken]: '>>>',
  [SyntaxKind.BarToken]: '|',
  [SyntaxKind.AmpersandToken]: '&',
  [SyntaxKind.CaretToken]: '^',
};

const ASSIGN_OPS: Partial<Record<SyntaxKind, AssignOp>> = {
  [SyntaxKind.EqualsToken]: '=',
  [SyntaxKind.PlusEqualsToken]: '+=',
  [SyntaxKind.MinusEqualsToken]: '-=',
  [SyntaxKind.AsteriskEqualsToken]: '*=',
  [SyntaxKind.SlashEqualsToken]: '/=',
};

/** Placeholder for an expression that failed to lower (an error was reported). */
const BAD: Expr = num(0);

/** `rejected`: a parameter whose declaration was reported; its uses are not reported again. */
type NameKind = 'array' | 'scalarParam' | 'const' | 'let' | 'loopVar' | 'rejected';

export class Lowerer {
  /** Visible names, innermost block last. */
  private scopes: Map<string, NameKind>[] = [];
  /** Block paths ('0/2/5') where each name is declared: a name may be reused only in sibling blocks. */
  private declared = new Map<string, string[]>();
  private path: string[] = [];
  private blockCounter = 0;

  constructor(private readonly sink: DiagnosticSink) {}

  declare(name: string, kind: NameKind, node: Node): void {
    const here = this.path.join('/');
    const nested = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
    const prev = this.declared.get(name) ?? [];
    if (prev.some((p) => nested(p, here))) {
      this.error(
        node,
        'duplicateName',
        `'${name}' is already declared in an enclosing or the same block; kernels need distinct names (no shadowing)`,
      );
    }
    this.declared.set(name, [...prev, here]);
    this.scopes[this.scopes.length - 1].set(name, kind);
  }

  lookup(name: string): NameKind | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const k = this.scopes[i].get(name);
      if (k) return k;
    }
    return undefined;
  }

  inScope<T>(f: () => T): T {
    this.scopes.push(new Map());
    this.path.push(String(this.blockCounter++));
    try {
      return f();
    } finally {
      this.scopes.pop();
      this.path.pop();
    }
  }

  /** A name read as a scalar value. */
  useScalar(name: string, node: Node): void {
    const k = this.lookup(name);
    if (k === 'rejected') return;
    if (!k)
      this.error(
        node,
        'unknownName',
        `'${name}' is not a parameter or local of this kernel (kernels cannot use outer variables)`,
      );
    else if (k === 'array')
      this.error(node, 'arrayAsValue', `array '${name}' used as a value; read an element: ${name}[i]`);
  }

  /** A name indexed as an array. */
  useArray(name: string, node: Node): void {
    const k = this.lookup(name);
    if (k === 'rejected') return;
    if (!k) this.error(node, 'unknownName', `'${name}' is not a parameter of this kernel`);
    else if (k !== 'array') this.error(node, 'scalarIndexed', `'${name}' is a scalar and cannot be indexed`);
  }

  error(node: Node, code: keyof typeof CODES, detail?: string): void {
    this.sink.error(CODES[code], detail ?? MESSAGES[code], node.getStart(), node.getEnd());
  }

  loc(node: Node): Loc {
    return { line: node.getStartLineNumber(), start: node.getStart(), end: node.getEnd() };
  }

  /** The name, parameters and return type of a kernel or layer (`what`), each problem reported. */
  signature(
    fn: FunctionDeclaration,
    nodiff: string[],
    what: 'kernel' | 'layer',
  ): { name: string; params: Param[]; returns: Kernel['returns']; rejected: string[] } | undefined {
    const name = fn.getName();
    if (!name) {
      this.error(fn, 'anonymousKernel', what === 'kernel' ? undefined : 'a layer needs a name');
      return undefined;
    }
    if (!fn.isExported()) this.error(fn.getNameNode() ?? fn, 'notExported', `${what} '${name}' must be exported`);
    if (fn.isAsync() || fn.isGenerator()) this.error(fn, 'asyncKernel');
    if (fn.getTypeParameters().length) this.error(fn.getTypeParameters()[0], 'generic');
    const params: Param[] = [];
    const rejected: string[] = [];
    for (const p of fn.getParameters()) {
      const typeNode = p.getTypeNode();
      const t = typeNode?.getText() ?? '';
      const pname = p.getName();
      if (p.getInitializer() || p.isOptional() || p.isRestParameter() || !Node.isIdentifier(p.getNameNode())) {
        this.error(p, 'paramForm');
        if (Node.isIdentifier(p.getNameNode())) rejected.push(pname);
        continue;
      }
      if (!SCALAR_TYPES.has(t) && !ARRAY_TYPES.has(t)) {
        this.error(
          typeNode ?? p,
          'paramType',
          `parameter '${pname}' has type '${t || 'none'}'; use Float32Array, Float64Array, Int32Array, Uint32Array, f32, f64, i32 or u32 (from 'parad')`,
        );
        rejected.push(pname);
        continue;
      }
      const kind = ARRAY_TYPES.has(t) ? 'array' : 'scalar';
      const float = isFloatArray(t) || isFloatScalar(t);
      params.push({
        name: pname,
        type: t as ScalarType | ArrayType,
        kind,
        float,
        active: float && !nodiff.includes(pname),
      });
    }
    for (const n of nodiff) {
      const p = params.find((q) => q.name === n);
      if (!p)
        this.sink.error(
          CODES.nodiffUnknown,
          `@nodiff names '${n}', which is not a parameter of '${name}'`,
          fn.getStart(),
          fn.getNameNode()?.getEnd() ?? fn.getEnd(),
        );
      else if (!p.float)
        this.sink.warning(
          CODES.nodiffUnknown,
          `@nodiff '${n}': integer parameters are never differentiated`,
          fn.getStart(),
          fn.getNameNode()?.getEnd() ?? fn.getEnd(),
        );
    }
    const rtNode = fn.getReturnTypeNode();
    const rt = rtNode?.getText() ?? 'void';
    let returns: Kernel['returns'] = 'void';
    if (rt === 'f32' || rt === 'f64' || rt === 'void') returns = rt;
    else this.error(rtNode ?? fn, 'returnType', `return type '${rt}' is not supported; use void, f32 or f64`);
    return { name, params, returns, rejected };
  }

  kernel(fn: FunctionDeclaration, doc: string, nodiff: string[]): Kernel | undefined {
    const sig = this.signature(fn, nodiff, 'kernel');
    if (!sig) return undefined;
    const { name, params, returns, rejected } = sig;
    const body = fn.getBody();
    if (!body || !Node.isBlock(body)) {
      this.error(fn, 'noBody');
      return undefined;
    }
    this.declared = new Map();
    const stmts = this.inScope(() => {
      for (const p of params) this.declare(p.name, p.kind === 'array' ? 'array' : 'scalarParam', fn);
      for (const r of rejected) this.declare(r, 'rejected', fn);
      return this.block(body.getStatements());
    });
    return { name, params, returns, body: stmts, sourceText: fn.getText(true), doc, loc: this.loc(fn) };
  }

  block(stmts: Statement[]): Stmt[] {
    const out: Stmt[] = [];
    for (const s of stmts) {
      const handler = STATEMENTS[s.getKind()];
      if (!handler) {
        this.error(s, 'statement', `${describe(s)} is not supported in kernels`);
        continue;
      }
      const r = handler(this, s);
      if (r) out.push(...(Array.isArray(r) ? r : [r]));
    }
    return out;
  }

  body(s: Statement): Stmt[] {
    return this.inScope(() => (Node.isBlock(s) ? this.block(s.getStatements()) : this.block([s])));
  }

  expr(e: Expression): Expr {
    const handler = EXPRESSIONS[e.getKind()];
    if (!handler) {
      this.error(e, 'expression', `${describe(e)} is not supported in kernels`);
      return BAD;
    }
    return handler(this, e);
  }

  lvalue(e: Expression): LValue | undefined {
    const x = unparen(e);
    if (Node.isIdentifier(x)) {
      const name = x.getText();
      const kind = this.lookup(name);
      if (!kind) this.error(x, 'unknownName', `'${name}' is not a local of this kernel`);
      else if (kind === 'scalarParam')
        this.error(x, 'writeParam', `cannot assign parameter '${name}'; copy it into a local first`);
      else if (kind === 'array')
        this.error(x, 'writeParam', `cannot assign array parameter '${name}'; assign its elements`);
      else if (kind === 'const') this.error(x, 'writeConst', `cannot assign const '${name}'`);
      else if (kind === 'loopVar')
        this.error(x, 'writeLoopVar', `cannot assign loop variable '${name}' inside its loop`);
      return { k: 'var', name };
    }
    if (Node.isElementAccessExpression(x)) {
      const target = unparen(x.getExpression());
      const arg = x.getArgumentExpression();
      if (!Node.isIdentifier(target) || !arg) {
        this.error(x, 'lvalue');
        return undefined;
      }
      this.useArray(target.getText(), target);
      return { k: 'index', array: target.getText(), index: this.expr(arg) };
    }
    this.error(x, 'lvalue');
    return undefined;
  }

  /** The header of a canonical for loop (each problem reported), or undefined. */
  loopHeader(
    s: ForStatement,
  ):
    | { iv: string; decl: Node; initExpr: Expression; cmp: ForLoop['cmp']; bound: Expression; step: number }
    | undefined {
    const init = s.getInitializer();
    const cond = s.getCondition();
    const inc = s.getIncrementor();
    const bad = (detail: string) => {
      this.error(
        s.getFirstChildByKind(SyntaxKind.OpenParenToken) ? s : s,
        'forForm',
        `for loop is not canonical: ${detail}; write for (let i = lo; i < hi; i++) (also <=, i += c, or counting down with > / >=)`,
      );
      return undefined;
    };
    if (!init || !Node.isVariableDeclarationList(init) || init.getDeclarations().length !== 1)
      return bad('the initializer must declare one loop variable with let');
    if (init.getDeclarationKind() !== 'let') return bad('the loop variable must be declared with let');
    const decl = init.getDeclarations()[0];
    const iv = decl.getName();
    const initExpr = decl.getInitializer();
    if (!initExpr) return bad('the loop variable needs an initial value');
    if (!cond || !Node.isBinaryExpression(cond)) return bad(`the condition must compare ${iv} with a bound`);
    const cmpText = cond.getOperatorToken().getText();
    if (!['<', '<=', '>', '>='].includes(cmpText) || unparen(cond.getLeft()).getText() !== iv)
      return bad(`the condition must be ${iv} < bound, <=, > or >=`);
    if (!inc) return bad('the loop needs an increment');
    const step = this.stepOf(inc, iv);
    if (step === undefined)
      return bad(`the increment must be ${iv}++, ${iv}--, ${iv} += c or ${iv} -= c with a constant c`);
    const up = cmpText === '<' || cmpText === '<=';
    if (up !== step > 0)
      return bad(
        `the step goes ${step > 0 ? 'up' : 'down'} but the condition ${cmpText} needs it to go ${up ? 'up' : 'down'}`,
      );
    return { iv, decl, initExpr, cmp: cmpText as ForLoop['cmp'], bound: cond.getRight(), step };
  }

  forLoop(s: ForStatement): Stmt | undefined {
    const h = this.loopHeader(s);
    if (!h) return undefined;
    const { iv, decl, initExpr, cmp, step } = h;
    const pragma = pragmaBefore(s, 'parallel');
    const init0 = this.expr(initExpr);
    return this.inScope(() => {
      this.declare(iv, 'loopVar', decl);
      const bound = this.expr(h.bound);
      return {
        k: 'for' as const,
        v: iv,
        init: init0,
        cmp,
        bound,
        step,
        body: this.body(s.getStatement()),
        parallel: pragma !== undefined,
        ...(pragma ? { pragma: parseParallelPragma(pragma) } : {}),
        loc: this.loc(s),
      };
    });
  }

  private stepOf(inc: Expression, iv: string): number | undefined {
    const x = unparen(inc);
    if (
      (Node.isPostfixUnaryExpression(x) || Node.isPrefixUnaryExpression(x)) &&
      unparen(x.getOperand()).getText() === iv
    ) {
      const op = x.getOperatorToken();
      if (op === SyntaxKind.PlusPlusToken) return 1;
      if (op === SyntaxKind.MinusMinusToken) return -1;
    }
    if (Node.isBinaryExpression(x) && unparen(x.getLeft()).getText() === iv) {
      const op = x.getOperatorToken().getKind();
      const r = constInt(x.getRight());
      if (r === undefined || r === 0) return undefined;
      if (op === SyntaxKind.PlusEqualsToken) return r;
      if (op === SyntaxKind.MinusEqualsToken) return -r;
    }
    return undefined;
  }
}

function constInt(e: Expression): number | undefined {
  const x = unparen(e);
  if (Node.isNumericLiteral(x)) {
    const v = x.getLiteralValue();
    return Number.isInteger(v) ? v : undefined;
  }
  if (Node.isPrefixUnaryExpression(x) && x.getOperatorToken() === SyntaxKind.MinusToken) {
    const v = constInt(x.getOperand());
    return v === undefined ? undefined : -v;
  }
  return undefined;
}

/** `// @<tag> …` (e.g. `@parallel`) on the line right before a for statement: returns the text after the tag ('' if none). */
export function pragmaBefore(s: ForStatement, tag: string): string | undefined {
  const ranges = s.getLeadingCommentRanges();
  const last = ranges[ranges.length - 1];
  if (!last) return undefined;
  const m = new RegExp(`^//\\s*@${tag}\\b(.*)$`).exec(last.getText());
  if (!m) return undefined;
  const sf = s.getSourceFile();
  const commentLine = sf.getLineAndColumnAtPos(last.getPos()).line;
  if (commentLine !== s.getStartLineNumber() - 1) return undefined;
  return m[1].trim();
}

export function unparen(e: Node): Node {
  let x = e;
  while (Node.isParenthesizedExpression(x) || Node.isAsExpression(x) || Node.isNonNullExpression(x))
    x = x.getExpression();
  return x;
}

function describe(n: Node): string {
  const names: Partial<Record<SyntaxKind, string>> = {
    [SyntaxKind.WhileStatement]: 'a while loop',
    [SyntaxKind.DoStatement]: 'a do-while loop',
    [SyntaxKind.BreakStatement]: 'break',
    [SyntaxKind.ContinueStatement]: 'continue',
    [SyntaxKind.ForOfStatement]: 'a for-of loop',
    [SyntaxKind.ForInStatement]: 'a for-in loop',
    [SyntaxKind.SwitchStatement]: 'a switch statement',
    [SyntaxKind.FunctionDeclaration]: 'a nested function',
    [SyntaxKind.ArrowFunction]: 'a closure',
    [SyntaxKind.FunctionExpression]: 'a closure',
    [SyntaxKind.ObjectLiteralExpression]: 'an object literal',
    [SyntaxKind.ArrayLiteralExpression]: 'an array literal',
    [SyntaxKind.TryStatement]: 'try/catch',
    [SyntaxKind.ThrowStatement]: 'throw',
    [SyntaxKind.NewExpression]: 'new',
    [SyntaxKind.StringLiteral]: 'a string',
    [SyntaxKind.TemplateExpression]: 'a template string',
    [SyntaxKind.NoSubstitutionTemplateLiteral]: 'a template string',
    [SyntaxKind.AwaitExpression]: 'await',
    [SyntaxKind.ThisKeyword]: 'this',
    [SyntaxKind.DeleteExpression]: 'delete',
    [SyntaxKind.TypeOfExpression]: 'typeof',
    [SyntaxKind.ClassDeclaration]: 'a class',
    [SyntaxKind.LabeledStatement]: 'a labeled statement',
  };
  return names[n.getKind()] ?? `'${n.getKindName()}'`;
}

type StmtHandler = (L: Lowerer, s: Statement) => Stmt | Stmt[] | undefined;
type ExprHandler = (L: Lowerer, e: Expression) => Expr;

const STATEMENTS: Partial<Record<SyntaxKind, StmtHandler>> = {
  [SyntaxKind.VariableStatement]: (L, s) => {
    if (!Node.isVariableStatement(s)) return undefined;
    const kind = s.getDeclarationKind();
    if (kind === 'var') {
      L.error(s, 'varDecl');
      return undefined;
    }
    const out: Stmt[] = [];
    for (const d of s.getDeclarations()) {
      const init = d.getInitializer();
      if (!Node.isIdentifier(d.getNameNode())) {
        L.error(d, 'destructuring');
        continue;
      }
      if (!init) {
        L.error(d, 'noInit', `local '${d.getName()}' needs an initial value`);
        continue;
      }
      const t = d.getTypeNode()?.getText();
      if (t !== undefined && !SCALAR_TYPES.has(t)) {
        L.error(
          d.getTypeNode()!,
          'localType',
          `local '${d.getName()}' has type '${t}'; locals are f32, f64, i32 or u32 scalars`,
        );
        continue;
      }
      const initExpr = L.expr(init);
      L.declare(d.getName(), kind === 'let' ? 'let' : 'const', d.getNameNode());
      out.push({
        k: 'decl',
        name: d.getName(),
        mutable: kind === 'let',
        type: t as ScalarType | undefined,
        init: initExpr,
        loc: L.loc(d),
      });
    }
    return out;
  },
  [SyntaxKind.ExpressionStatement]: (L, s) => {
    if (!Node.isExpressionStatement(s)) return undefined;
    const e = unparen(s.getExpression());
    if (Node.isBinaryExpression(e)) {
      // t **= b is t = Math.pow(t, b) (the target is pure: reading it again is the same value)
      if (e.getOperatorToken().getKind() === SyntaxKind.AsteriskAsteriskEqualsToken) {
        const target = L.lvalue(e.getLeft());
        const exponent = L.expr(e.getRight());
        const current: Expr | undefined =
          target &&
          (target.k === 'var'
            ? { k: 'var', name: target.name }
            : { k: 'index', array: target.array, index: target.index });
        return (
          target &&
          current && {
            k: 'assign',
            target,
            op: '=',
            value: { k: 'call', fn: 'Math.pow', args: [current, exponent] },
            loc: L.loc(s),
          }
        );
      }
      const op = ASSIGN_OPS[e.getOperatorToken().getKind()];
      if (op) {
        const target = L.lvalue(e.getLeft());
        const value = L.expr(e.getRight());
        return target && { k: 'assign', target, op, value, loc: L.loc(s) };
      }
    }
    if (
      (Node.isPostfixUnaryExpression(e) || Node.isPrefixUnaryExpression(e)) &&
      (e.getOperatorToken() === SyntaxKind.PlusPlusToken || e.getOperatorToken() === SyntaxKind.MinusMinusToken)
    ) {
      const target = L.lvalue(e.getOperand());
      return (
        target && {
          k: 'assign',
          target,
          op: e.getOperatorToken() === SyntaxKind.PlusPlusToken ? '+=' : '-=',
          value: num(1),
          loc: L.loc(s),
        }
      );
    }
    if (Node.isCallExpression(e)) {
      L.error(e, 'callStatement');
      return undefined;
    }
    L.error(e, 'exprStatement');
    return undefined;
  },
  [SyntaxKind.IfStatement]: (L, s) => {
    if (!Node.isIfStatement(s)) return undefined;
    const elseS = s.getElseStatement();
    return {
      k: 'if',
      cond: L.expr(s.getExpression()),
      then: L.body(s.getThenStatement()),
      else: elseS ? L.body(elseS) : [],
      loc: L.loc(s),
    };
  },
  [SyntaxKind.ForStatement]: (L, s) => (Node.isForStatement(s) ? L.forLoop(s) : undefined),
  [SyntaxKind.ReturnStatement]: (L, s) => {
    if (!Node.isReturnStatement(s)) return undefined;
    const e = s.getExpression();
    return { k: 'return', value: e ? L.expr(e) : undefined, loc: L.loc(s) };
  },
  [SyntaxKind.Block]: (L, s) => (Node.isBlock(s) ? L.block(s.getStatements()) : undefined),
  [SyntaxKind.EmptyStatement]: () => undefined,
};

const EXPRESSIONS: Partial<Record<SyntaxKind, ExprHandler>> = {
  [SyntaxKind.NumericLiteral]: (_L, e) =>
    Node.isNumericLiteral(e) ? { k: 'num', value: e.getLiteralValue(), text: e.getText() } : BAD,
  [SyntaxKind.Identifier]: (L, e) => {
    // the global constant (-Infinity is its negation), unless a local of that name hides it
    if (e.getText() === 'Infinity' && !L.lookup('Infinity')) return { k: 'num', value: Infinity, text: 'Infinity' };
    L.useScalar(e.getText(), e);
    return { k: 'var', name: e.getText() };
  },
  [SyntaxKind.ParenthesizedExpression]: (L, e) => (Node.isParenthesizedExpression(e) ? L.expr(e.getExpression()) : BAD),
  [SyntaxKind.AsExpression]: (L, e) => (Node.isAsExpression(e) ? L.expr(e.getExpression()) : BAD),
  [SyntaxKind.NonNullExpression]: (L, e) => (Node.isNonNullExpression(e) ? L.expr(e.getExpression()) : BAD),
  [SyntaxKind.TrueKeyword]: () => ({ k: 'num', value: 1, text: 'true' }),
  [SyntaxKind.FalseKeyword]: () => ({ k: 'num', value: 0, text: 'false' }),
  [SyntaxKind.PrefixUnaryExpression]: (L, e) => {
    if (!Node.isPrefixUnaryExpression(e)) return BAD;
    const ops: Partial<Record<SyntaxKind, '-' | '+' | '!' | '~'>> = {
      [SyntaxKind.MinusToken]: '-',
      [SyntaxKind.PlusToken]: '+',
      [SyntaxKind.ExclamationToken]: '!',
      [SyntaxKind.TildeToken]: '~',
    };
    const op = ops[e.getOperatorToken()];
    if (!op) {
      L.error(e, 'sideEffect');
      return BAD;
    }
    return { k: 'unary', op, e: L.expr(e.getOperand()) };
  },
  [SyntaxKind.PostfixUnaryExpression]: (L, e) => {
    L.error(e, 'sideEffect');
    return BAD;
  },
  [SyntaxKind.BinaryExpression]: (L, e) => {
    if (!Node.isBinaryExpression(e)) return BAD;
    const kind = e.getOperatorToken().getKind();
    // a ** b is Math.pow(a, b): the same value in JavaScript, and the same derivative rule
    if (kind === SyntaxKind.AsteriskAsteriskToken)
      return { k: 'call', fn: 'Math.pow', args: [L.expr(e.getLeft()), L.expr(e.getRight())] };
    const op = BINARY_OPS[kind];
    if (!op) {
      const assigns = ASSIGN_OPS[kind] !== undefined || kind === SyntaxKind.AsteriskAsteriskEqualsToken;
      L.error(
        e,
        assigns ? 'sideEffect' : 'operator',
        assigns ? undefined : `operator '${e.getOperatorToken().getText()}' is not supported in kernels`,
      );
      return BAD;
    }
    return { k: 'binary', op, l: L.expr(e.getLeft()), r: L.expr(e.getRight()) };
  },
  [SyntaxKind.ConditionalExpression]: (L, e) =>
    Node.isConditionalExpression(e)
      ? { k: 'cond', c: L.expr(e.getCondition()), t: L.expr(e.getWhenTrue()), f: L.expr(e.getWhenFalse()) }
      : BAD,
  [SyntaxKind.ElementAccessExpression]: (L, e) => {
    if (!Node.isElementAccessExpression(e)) return BAD;
    const target = unparen(e.getExpression());
    const arg = e.getArgumentExpression();
    if (!Node.isIdentifier(target) || !arg) {
      L.error(e, 'indexForm');
      return BAD;
    }
    L.useArray(target.getText(), target);
    return { k: 'index', array: target.getText(), index: L.expr(arg) };
  },
  [SyntaxKind.PropertyAccessExpression]: (L, e) => {
    if (!Node.isPropertyAccessExpression(e)) return BAD;
    const obj = e.getExpression().getText();
    const prop = e.getName();
    if (obj === 'Math' && prop in MATH_CONSTANTS)
      return { k: 'num', value: MATH_CONSTANTS[prop], text: `Math.${prop}` };
    if (prop === 'length' && Node.isIdentifier(e.getExpression())) {
      const kind = L.lookup(obj);
      if (kind && kind !== 'array' && kind !== 'rejected') {
        L.error(
          e,
          'property',
          `'${e.getText()}': only array parameters have a length in kernels, and '${obj}' is a scalar`,
        );
        return BAD;
      }
      L.useArray(obj, e.getExpression());
      return { k: 'length', array: obj };
    }
    L.error(e, 'property', `'${e.getText()}' is not supported in kernels (only Math.<constant> and array.length)`);
    return BAD;
  },
  [SyntaxKind.CallExpression]: (L, e) => {
    if (!Node.isCallExpression(e)) return BAD;
    const callee = e.getExpression().getText();
    if (!isMathFunction(callee)) {
      L.error(
        e.getExpression(),
        'call',
        `call to '${callee}' is not supported: kernels may call only the Math functions listed in docs/kernel-language.md`,
      );
      return BAD;
    }
    const args = e.getArguments().map((a) => L.expr(a as Expression));
    const { arity } = OPS[callee];
    if (arity !== args.length) {
      L.error(e, 'arity', `${callee} takes ${arity} argument${arity === 1 ? '' : 's'} in kernels, got ${args.length}`);
      return BAD;
    }
    return { k: 'call', fn: callee, args };
  },
};

const MESSAGES: Record<keyof typeof CODES, string> = {
  syntax: 'syntax error',
  layerStatement: 'this statement is not supported in layers',
  wgslLayer: 'the layer runs in JavaScript only',
  layerCall: 'layers call kernels and layers',
  layerArgument: 'this argument does not fit the parameter',
  layerValue: 'layer values are inactive constants',
  layerScratch: 'scratch arrays are new Float64Array(n) and the like',
  layerSwap: 'array variables of layers are swapped with [a, b] = [b, a]',
  layerFloat: 'float locals of layers hold call results',
  layerImport: 'cannot read an imported kernel file',
  layerRecursion: 'layers cannot call themselves',
  checkpointPragma: 'unknown @checkpoint option',
  unknownPragma: 'unknown pragma',
  pragmaOption: 'unknown pragma option',
  pragmaName: 'a pragma names no parameter',
  misplacedPragma: 'a pragma that applies to nothing',
  anonymousKernel: 'a kernel must be a named function',
  notExported: 'a kernel must be exported',
  asyncKernel: 'a kernel cannot be async or a generator',
  generic: 'a kernel cannot have type parameters',
  paramForm: 'kernel parameters must be plain names without default values',
  paramType: 'unsupported parameter type',
  nodiffUnknown: '@nodiff names an unknown parameter',
  returnType: 'unsupported return type',
  noBody: 'a kernel needs a body',
  statement: 'statement not supported in kernels',
  expression: 'expression not supported in kernels',
  lvalue: 'only local variables and array elements (a[i]) can be assigned',
  forForm: 'for loop is not canonical',
  varDecl: 'use let or const instead of var',
  destructuring: 'destructuring is not supported in kernels',
  noInit: 'locals need an initial value',
  localType: 'unsupported local type',
  callStatement: 'calls are not supported as statements in kernels',
  exprStatement: 'this expression statement has no effect; kernels allow assignments only',
  sideEffect: 'increments and assignments inside expressions are not supported; write them as separate statements',
  operator: 'operator not supported',
  indexForm: 'only a parameter array can be indexed: a[i]',
  property: 'property access not supported',
  call: 'call not supported',
  arity: 'wrong number of arguments',
  // semantic checks (check/subset.ts)
  duplicateName: 'duplicate name',
  unknownName: 'unknown name',
  writeParam: 'cannot assign a parameter',
  writeConst: 'cannot assign a const',
  writeLoopVar: 'cannot assign a loop variable',
  loopBoundWritten: 'loop bound changes inside the loop',
  returnPlace: 'return must be the last statement of the kernel',
  missingReturn: 'missing return',
  parallelWritesOuter: 'parallel loop writes an outer variable',
  arrayAsValue: 'array used as a value',
  scalarIndexed: 'indexing a scalar',
  floatIndex: 'float division in an index',
  noKernels: 'no kernels',
  internal: 'internal error',
  notParallel: 'not parallel',
  maybeNotParallel: 'maybe not parallel',
  unknownExclusiveRead: 'exclusive read unknown',
  solverFailed: 'z3 failed on a query',
  wgslUnsupported: 'not supported by the WGSL backend',
  wgslNoAdjoint: 'no WGSL version of the adjoint yet',
  wgslSequential: 'runs as one invocation on WebGPU',
  wgslBindings: 'a WebGPU pass over the default limit of storage buffers',
};
