/**
 * Shader source maps: every generated WGSL pass ends with
 *
 *   //# sourceMappingURL=data:application/json;base64,<source map v3>
 *
 * mapping each WGSL line that comes from the kernel to its `file:line` (the convention proposed for
 * WebGPU shader source maps, gpuweb issue 4844, as in JavaScript and CSS). WGSL has no `#line`;
 * the comment is an ordinary line comment to every WGSL compiler. parad/runtime reads it to report
 * a shader's compilation errors and warnings at the kernel's lines (runtime/gpu.ts,
 * checkShaderModule); browsers' tools that support the proposal show the kernel source.
 */
import { GenMapping, maybeAddMapping, setSourceContent, toEncodedMap } from '@jridgewell/gen-mapping';

export const SHADER_SOURCE_MAP_PREFIX = '//# sourceMappingURL=data:application/json;base64,';

/**
 * `code` (a pass, WGSL) with its source map as the last line: WGSL line i + 1 comes from line
 * `sourceLines[i]` of `file` (0: scaffolding, unmapped). `name` names the shader (`blur_b pass 0`).
 */
export function withShaderSourceMap(code: string, sourceLines: number[], file: string, name: string): string {
  const map = new GenMapping({ file: `${name}.wgsl` });
  // the kernel file is the map's source even where no line maps (a pass of scaffolding only)
  setSourceContent(map, file, null);
  sourceLines.forEach((line, i) => {
    if (line > 0)
      maybeAddMapping(map, { generated: { line: i + 1, column: 0 }, source: file, original: { line, column: 0 } });
  });
  const body = code.endsWith('\n') ? code : `${code}\n`;
  return `${body}${SHADER_SOURCE_MAP_PREFIX}${Buffer.from(JSON.stringify(toEncodedMap(map))).toString('base64')}\n`;
}
