/**
 * Loads a generated JS module (compile(..., { format: 'js' })) in-process without touching the file
 * system: the `parad` import is bound to the runtime and the exports are collected.
 */
import * as runtime from '../../runtime/index.js';
import { compile, formatDiagnostic, type CompileOptions } from '../../transformer/index.js';

export type GeneratedModule = Record<string, unknown> & { __parad: runtime.ModuleMeta };

export function loadGenerated(jsCode: string): GeneratedModule {
  const names: string[] = [];
  const body = jsCode
    .replace(
      /^import\s*\{([^}]*)\}\s*from\s*['"]parad['"];?\s*$/m,
      (_m, spec: string) =>
        `const { ${spec
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s && !s.startsWith('type '))
          .map((s) => s.replace(/\s+as\s+/, ': '))
          .join(', ')} } = __runtime;`,
    )
    .replace(/^export (function|const) ([A-Za-z_$][\w$]*)/gm, (_m, kw: string, name: string) => {
      names.push(name);
      return `${kw} ${name}`;
    });
  if (/^\s*import\s/m.test(body)) throw new Error('generated code imports something other than parad');
  const factory = new Function('__runtime', `${body}\nreturn { ${names.join(', ')} };`);
  return factory(runtime) as GeneratedModule;
}

/** Compiles kernel source to JS and loads it; throws with formatted diagnostics on errors. */
export async function compileAndLoad(
  source: string,
  options: Omit<CompileOptions, 'format'> = { fileName: 'kernel.ts' },
): Promise<GeneratedModule> {
  const r = await compile(source, { ...options, format: 'js' });
  if (!r.code) throw new Error(r.diagnostics.map((d) => formatDiagnostic(d, source)).join('\n'));
  return loadGenerated(r.code);
}
