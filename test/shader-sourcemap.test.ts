/**
 * Shader source maps (transformer/emit/wgsl/sourcemap.ts, runtime/shader-check.ts): every generated
 * WGSL pass ends with `//# sourceMappingURL=data:application/json;base64,…` mapping its lines to
 * the kernel's `file:line` (imported kernels' passes to their own file); parad/runtime's decoder
 * reads the same lines as an independent one (@jridgewell/trace-mapping); checkShaderModule places
 * compile errors (thrown) and warnings (callback) at those lines. On a real GPU compiler (dawn.node,
 * Tint) test/wgsl.test.ts checks the same with a broken line and an unreachable one.
 */
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { compile } from '../transformer/index.js';
import { checkShaderModule, shaderSourceMap } from '../runtime/shader-check.js';
import { imports32, to32 } from './support/fixtures32.js';

const root = path.resolve(import.meta.dirname, '..');
const PREFIX = '//# sourceMappingURL=data:application/json;base64,';

async function shadersOf(dir: string) {
  const source = to32(fs.readFileSync(path.join(root, 'fixtures', dir, `${dir}.ts`), 'utf8'));
  const r = await compile(source, { fileName: `${dir}.ts`, targets: ['ts', 'wgsl'], resolveImport: imports32(dir) });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { source, shaders: r.shaders! };
}

describe('shader source maps', () => {
  test("every pass of heat ends with an inline source map; its lines lead to the kernel's (tmp[i] = … is heat.ts:8)", async () => {
    const { source, shaders } = await shadersOf('heat');
    expect(shaders.length).toBeGreaterThan(3);
    for (const s of shaders) {
      const lines = s.code.trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(/^\/\/# sourceMappingURL=data:application\/json;base64,[A-Za-z0-9+/=]+$/);
      const json = JSON.parse(Buffer.from(lines.at(-1)!.slice(PREFIX.length), 'base64').toString());
      expect(json).toMatchObject({ version: 3, sources: ['heat.ts'] });
      // parad/runtime's decoder agrees with trace-mapping on every line
      const ours = shaderSourceMap(s.code)!;
      const theirs = new TraceMap(json);
      lines.forEach((_, i) => {
        const pos = originalPositionFor(theirs, { line: i + 1, column: 0 });
        expect(ours[i] ?? null, `${s.fn} pass ${s.pass} line ${i + 1}`).toEqual(
          pos.source ? { file: pos.source, line: pos.line } : null,
        );
      });
    }
    // the passes of the kernel's nests map lines (a pass of scaffolding only, e.g. zeroing adjoints, maps none)
    const mapped = shaders.filter((s) => shaderSourceMap(s.code)!.some(Boolean));
    expect(mapped.length).toBeGreaterThanOrEqual(shaders.length / 2);
    const primal = shaders.find((s) => s.fn === 'heat' && /tmp\[i\] = /.test(s.code))!;
    const line = primal.code.split('\n').findIndex((l) => /^\s*tmp\[i\] = /.test(l));
    expect(shaderSourceMap(primal.code)![line]).toEqual({ file: 'heat.ts', line: 8 });
    expect(source.split('\n')[7]).toMatch(/tmp\[i\] = /);
  });

  test("a layer's imported kernels: their passes map to the imported file", async () => {
    const { shaders } = await shadersOf('mlp');
    const files = new Set(
      shaders.flatMap((s) =>
        shaderSourceMap(s.code)!
          .filter(Boolean)
          .map((l) => path.basename(l!.file)),
      ),
    );
    expect([...files]).toContain('dense.ts');
  });

  /** A shader module whose compiler reports `messages`. */
  const fakeModule = (messages: Partial<GPUCompilationMessage>[]) =>
    ({ getCompilationInfo: async () => ({ messages }) }) as unknown as GPUShaderModule;

  test('checkShaderModule: errors throw at the kernel line, warnings go to the callback; unmapped lines say so', async () => {
    const { shaders } = await shadersOf('heat');
    const s = shaders.find((x) => x.fn === 'heat' && /tmp\[i\] = /.test(x.code))!;
    const line = s.code.split('\n').findIndex((l) => /^\s*tmp\[i\] = /.test(l)) + 1;
    class GpuError extends Error {}
    const err = await checkShaderModule(
      fakeModule([
        { type: 'error', lineNum: line, linePos: 5, message: 'bad' },
        { type: 'error', lineNum: 1, linePos: 1, message: 'worse' },
      ]),
      s.code,
      'heat: pass 0',
      { errorType: GpuError },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuError);
    expect((err as Error).message).toBe(
      `heat: pass 0 does not compile: heat.ts:8 (WGSL ${line}:5): bad; heat.ts (generated code) (WGSL 1:1): worse`,
    );
    const warnings: string[] = [];
    await checkShaderModule(
      fakeModule([
        { type: 'warning', lineNum: line, linePos: 3, message: 'code is unreachable' },
        { type: 'info', lineNum: line, linePos: 1, message: 'fyi' },
      ]),
      s.code,
      'heat: pass 0',
      { onWarning: (m) => warnings.push(m) },
    );
    expect(warnings).toEqual([`heat: pass 0: WGSL warning at heat.ts:8 (WGSL ${line}:3): code is unreachable`]);
    // a shader without the comment: the fallback lines place it
    const bare = s.code.slice(0, s.code.lastIndexOf(PREFIX));
    const sourceLines = bare.split('\n').map((_, i) => (i === line - 1 ? 8 : 0));
    const e2 = await checkShaderModule(
      fakeModule([{ type: 'error', lineNum: line, linePos: 5, message: 'bad' }]),
      bare,
      'heat: pass 0',
      { fallback: { file: 'heat.ts', sourceLines } },
    ).catch((e: Error) => e.message);
    expect(e2).toBe(`heat: pass 0 does not compile: heat.ts:8 (WGSL ${line}:5): bad`);
  });
});
