/**
 * A shader module's compilation messages at the kernel's lines: the generated WGSL ends with a
 * source map comment (`//# sourceMappingURL=data:application/json;base64,…`, gpuweb issue 4844;
 * transformer/emit/wgsl/sourcemap.ts) from its lines to the kernel's `file:line`, which
 * `checkShaderModule` decodes to place each error and warning of `getCompilationInfo()`.
 * No dependencies: it runs in browsers as in Node.
 */
/// <reference types="@webgpu/types" />

/** Where a WGSL line comes from. */
export interface ShaderSourceLocation {
  file: string;
  line: number;
}

const PREFIX = '//# sourceMappingURL=data:application/json;base64,';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The source map at the end of `code`, as the kernel location of each WGSL line (index: line − 1;
 * undefined: not from the kernel); undefined when `code` has no (readable) inline map.
 */
export function shaderSourceMap(code: string): (ShaderSourceLocation | undefined)[] | undefined {
  const at = code.lastIndexOf(PREFIX);
  if (at < 0) return undefined;
  let map: { sources?: (string | null)[]; mappings?: string };
  try {
    const bytes = Uint8Array.from(atob(code.slice(at + PREFIX.length).trim()), (c) => c.charCodeAt(0));
    map = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof map.mappings !== 'string' || !Array.isArray(map.sources)) return undefined;
  // source map v3: lines split by ';', segments by ','; fields are base64 VLQ, the source index and
  // line relative to the previous segment's (the first segment of a line is the one we keep)
  const out: (ShaderSourceLocation | undefined)[] = [];
  let source = 0,
    line = 0;
  for (const text of map.mappings.split(';')) {
    let first: ShaderSourceLocation | undefined;
    for (const segment of text ? text.split(',') : []) {
      const fields = vlq(segment);
      if (fields.length < 4) continue;
      source += fields[1];
      line += fields[2];
      const file = map.sources[source];
      if (!first && typeof file === 'string') first = { file, line: line + 1 };
    }
    out.push(first);
  }
  return out;
}

/** The integers of one base64 VLQ segment. */
function vlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0,
    shift = 0;
  for (const ch of segment) {
    const digit = BASE64.indexOf(ch);
    if (digit < 0) return [];
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    values.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = shift = 0;
  }
  return values;
}

/** Called with each warning of a shader's compilation, already placed at the kernel line. */
export type ShaderWarningHandler = (message: string) => void;

/**
 * Reads `module`'s compilation info: errors throw (an `Error` of `errorType`, every error at the
 * kernel's `file:line` where the source map of `code` has one, with the WGSL line and column),
 * warnings go to `onWarning` (default `console.warn`). `label` names the shader (`heat: pass 0`);
 * `fallback` places lines for shaders without a source map comment (generated before it existed).
 */
export async function checkShaderModule(
  module: GPUShaderModule,
  code: string,
  label: string,
  options: {
    onWarning?: ShaderWarningHandler;
    errorType?: new (message: string) => Error;
    fallback?: { file: string; sourceLines?: number[] };
  } = {},
): Promise<void> {
  const info = await module.getCompilationInfo();
  if (!info.messages.length) return;
  const map = shaderSourceMap(code);
  const where = (m: GPUCompilationMessage) => {
    const fromMap = m.lineNum > 0 ? map?.[m.lineNum - 1] : undefined;
    const fallback = !map && m.lineNum > 0 && options.fallback?.sourceLines?.[m.lineNum - 1];
    const at = fromMap
      ? `${fromMap.file}:${fromMap.line}`
      : fallback
        ? `${options.fallback!.file}:${fallback}`
        : `${map?.find(Boolean)?.file ?? options.fallback?.file ?? 'shader'} (generated code)`;
    return `${at} (WGSL ${m.lineNum}:${m.linePos})`;
  };
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) {
    const Err = options.errorType ?? Error;
    throw new Err(`${label} does not compile: ${errors.map((m) => `${where(m)}: ${m.message}`).join('; ')}`);
  }
  for (const m of info.messages) {
    if (m.type === 'warning')
      (options.onWarning ?? console.warn)(`${label}: WGSL warning at ${where(m)}: ${m.message}`);
  }
}
