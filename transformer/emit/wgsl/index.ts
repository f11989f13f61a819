/**
 * The WGSL text of a kernel's lowered programs (lower/gpu): each pass printed (shader.ts) with its
 * source map to the kernel's lines (sourcemap.ts); the host functions stay IR (module.ts prints
 * them with the module).
 */
import type { GpuProgram, GpuProgramInfo } from '../../lower/gpu/index.js';
import type { ProgramOut } from '../../lower/gpu/program.js';
import { printPass } from './shader.js';
import { withShaderSourceMap } from './sourcemap.js';

/** A kernel's program on WebGPU as the module exports it: its passes' WGSL and its host function. */
export interface WgslProgramOut extends ProgramOut, GpuProgramInfo {}

/** Prints the passes of a kernel's programs; `file`: the kernel file, for the shaders' source maps. */
export function printPrograms(programs: GpuProgram[], file: string): WgslProgramOut[] {
  return programs.map((p) => ({
    ...p,
    passes: p.passes.map((pass, i) => {
      const { shape: _shape, body: _body, types: _types, ...described } = pass;
      const { code, sourceLines } = printPass(pass);
      return { ...described, code: withShaderSourceMap(code, sourceLines, file, `${p.name} pass ${i}`), sourceLines };
    }),
  }));
}
