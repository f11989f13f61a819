/**
 * WGSL text of IR expressions with JavaScript's semantics: integer and float values kept apart
 * (conversions where JavaScript mixes them), `/` as float division, `? :` as `select`, and each
 * `Math` function through its rule's WGSL lowering (differentiate/rules.ts).
 */
import type { Expr } from '../../ir/types.js';
import { ruleFor } from '../../differentiate/rules.js';
import type { Types, WType } from '../../lower/gpu/types.js';

/** Words WGSL reserves, its types, the builtins the lowering calls, and the shader's own names: kernel identifiers that collide get a trailing `_`. */
const RESERVED = new Set(
  `alias break case const const_assert continue continuing default diagnostic discard else enable false fn for if let loop override requires return struct switch true var while
NULL Self abstract active alignas alignof as asm asm_fragment async attribute auto await become cast catch class co_await co_return co_yield coherent column_major common compile compile_fragment concept const_cast consteval constexpr constinit crate debugger decltype delete demote demote_to_helper do dynamic_cast enum explicit export extends extern external fallthrough filter final finally friend from fxgroup get goto groupshared highp impl implements import inline instanceof interface layout lowp macro macro_rules match mediump meta mod module move mut mutable namespace new nil noexcept noinline nointerpolation noperspective null nullptr of operator package packoffset partition pass patch pixelfragment precise precision premerge priv protected pub public readonly ref regardless register reinterpret_cast require resource restrict self set shared sizeof smooth snorm static static_assert static_cast std subroutine super target template this thread_local throw trait try type typedef typeid typename typeof union unless unorm unsafe unsized use using varying virtual volatile wgsl where with writeonly yield
f32 f16 i32 u32 bool vec2 vec3 vec4 mat2x2 mat3x3 mat4x4 array atomic ptr sampler texture_2d main u gid nwg _lid _grs
sin cos tan asin acos atan atan2 sinh cosh tanh exp exp2 log log2 pow sqrt abs sign floor ceil trunc fract min max select length arrayLength bitcast`.split(
    /\s+/,
  ),
);

/** A kernel identifier as a WGSL identifier. */
export const wname = (name: string): string => {
  const clean = name.replace(/\$/g, '_S');
  // WGSL identifiers must not start with two underscores (`__s1_g` → `_U_s1_g`)
  if (clean.startsWith('__')) return `_U${clean.slice(1)}`;
  // `_gr0`, `_gw0`: the workgroup sums of shader.ts
  return RESERVED.has(clean) || /^_g[rw]\d+$/.test(clean) ? `${clean}_` : clean;
};

const FLOAT_TEXT = (x: number): string => {
  if (!Number.isFinite(x)) return x > 0 ? '3.4028234663852886e38' : x < 0 ? '-3.4028234663852886e38' : '0.0';
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
};

const cast = (text: string, from: WType, to: WType): string => (from === to || to === 'bool' ? text : `${to}(${text})`);

/** `e` as WGSL, converted to `want` when given. */
export function wexpr(e: Expr, t: Types, want?: WType): string {
  // a literal where a float is wanted is a float literal (`2.0`, not `f32(2)`)
  if (e.k === 'num' && want === 'f32') return e.value < 0 ? `(${FLOAT_TEXT(e.value)})` : FLOAT_TEXT(e.value);
  // an integer quotient wanted as an integer (a gather's solved loop variable, after its divisibility
  // guard): exact integer division, where going through f32 would round above 2^24
  if (want === 'i32' && e.k === 'binary' && e.op === '/' && t.of(e.l) !== 'f32' && t.of(e.r) !== 'f32')
    return `(${wexpr(e.l, t, 'i32')} / ${wexpr(e.r, t, 'i32')})`;
  const own = t.of(e);
  const out = wexprOwn(e, t, own);
  return want ? cast(out, own === 'bool' ? 'bool' : own, want) : out;
}

function wexprOwn(e: Expr, t: Types, own: WType): string {
  switch (e.k) {
    case 'num':
      if (own === 'f32') return e.value < 0 ? `(${FLOAT_TEXT(e.value)})` : FLOAT_TEXT(e.value);
      return e.value < 0 ? `(${e.value})` : String(e.value);
    case 'var':
      return wname(e.name);
    case 'index':
      if (t.atomic.has(e.array)) return `bitcast<f32>(atomicLoad(&${wname(e.array)}[${wexpr(e.index, t, 'i32')}]))`;
      return `${wname(e.array)}[${wexpr(e.index, t, 'i32')}]`;
    case 'length':
      return `i32(arrayLength(&${wname(e.array)}))`;
    case 'unary':
      if (e.op === '!') return `!(${wexpr(e.e, t, 'bool')})`;
      if (e.op === '+') return wexpr(e.e, t, own);
      return `(${e.op}${wexpr(e.e, t, own)})`;
    case 'binary': {
      const op = e.op === '===' ? '==' : e.op === '!==' ? '!=' : e.op;
      if (op === '&&' || op === '||') return `(${wexpr(e.l, t, 'bool')} ${op} ${wexpr(e.r, t, 'bool')})`;
      if (['<', '<=', '>', '>=', '==', '!='].includes(op)) {
        const common: WType =
          t.of(e.l) === 'f32' || t.of(e.r) === 'f32'
            ? 'f32'
            : t.of(e.l) === 'u32' && t.of(e.r) === 'u32'
              ? 'u32'
              : 'i32';
        return `(${wexpr(e.l, t, common)} ${op} ${wexpr(e.r, t, common)})`;
      }
      // x | 0, x >> 0: JavaScript's conversion to a 32-bit integer; (a / b) | 0 of integers is
      // WGSL's integer division (exact, where going through f32 would round above 2^24)
      if ((op === '|' || op === '>>') && e.r.k === 'num' && e.r.value === 0) {
        const x = e.l;
        if (x.k === 'binary' && x.op === '/' && t.of(x.l) !== 'f32' && t.of(x.r) !== 'f32')
          return `(${wexpr(x.l, t, 'i32')} / ${wexpr(x.r, t, 'i32')})`;
        return t.of(x) === 'f32' ? `i32(trunc(${wexpr(x, t)}))` : wexpr(x, t, 'i32');
      }
      if (op === '>>>') return `i32(u32(${wexpr(e.l, t, 'i32')}) >> u32(${wexpr(e.r, t, 'i32')}))`;
      if (op === '>>' || op === '<<') return `(${wexpr(e.l, t, 'i32')} ${op} u32(${wexpr(e.r, t, 'i32')}))`;
      if (op === '|' || op === '&' || op === '^') return `(${wexpr(e.l, t, 'i32')} ${op} ${wexpr(e.r, t, 'i32')})`;
      return `(${wexpr(e.l, t, own)} ${op} ${wexpr(e.r, t, own)})`;
    }
    case 'cond':
      return `select(${wexpr(e.f, t, own)}, ${wexpr(e.t, t, own)}, ${wexpr(e.c, t, 'bool')})`;
    case 'call':
      // integer max/min/abs (trip counts): WGSL's own, on i32
      if (own === 'i32') return `${e.fn.slice(5)}(${e.args.map((a) => wexpr(a, t, 'i32')).join(', ')})`;
      return ruleFor(e.fn).wgsl(e.args.map((a) => wexpr(a, t, 'f32')));
    default:
      throw new Error(`internal: a generated ${e.k} expression in a pass body (the lowering checks pass bodies)`);
  }
}
