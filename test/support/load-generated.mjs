// Loads generated JS (compile(…, { format: 'js' })) as a function, its `parad` import bound to
// `runtime` (the built dist/runtime/index.js): for the scripts that run outside vitest
// (test/support/webgpu-run.mjs, bench/gpu.mjs). test/support/load.ts is the typed twin.
export function loadGenerated(code, runtime) {
  const names = [];
  const body = code
    .replace(
      /^import\s*\{([^}]*)\}\s*from\s*['"]parad['"];?\s*$/m,
      (_m, spec) =>
        `const { ${spec
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s && !s.startsWith('type '))
          .map((s) => s.replace(/\s+as\s+/, ': '))
          .join(', ')} } = __runtime;`,
    )
    .replace(/^import type .*$/m, '')
    .replace(/^export (function|const) ([A-Za-z_$][\w$]*)/gm, (_m, kw, name) => {
      names.push(name);
      return `${kw} ${name}`;
    });
  return new Function('__runtime', `${body}\nreturn { ${names.join(', ')} };`)(runtime);
}
