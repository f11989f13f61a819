/**
 * The import rules of parad (`npm run lint`): no cycles, and the transformer's folders in one
 * order, each importing only from the folders below it (docs/architecture.md draws the picture):
 *
 *   ir → analysis → differentiate → schedule → lower → emit → compile → cli / plugin
 *
 * `ir` is the bottom (the IR's types, builders, walker, printer of expressions, operator table);
 * the front end (`parse`, `check`: TypeScript source → IR) sits beside the pipeline: it may import
 * `ir` (the pragmas' options are parsed into it: parse/pragma.ts), and no phase imports it. The shared leaves
 * (`diagnostics.ts`, `naming.ts`, `check/codes.ts`) import nothing of the transformer but `ir`.
 * `runtime` (shipped to browsers) never imports the transformer; `testing` imports the runtime only.
 */

// a folder (or file) of the transformer, as a path pattern
const T = (name) => `^transformer/${name}`;
const ORDER = ['ir', 'analysis', 'differentiate', 'schedule', 'lower', 'emit'];
const FRONT = '^transformer/(parse|check)/';
const LEAVES = '^transformer/(diagnostics|naming)\\.ts$|^transformer/check/codes\\.ts$';
const TOP = '^transformer/(compile|analyze|index)\\.ts$';

/** `from` may not import `to`, for each folder and every folder above it. */
const upward = ORDER.map((low, i) => ({
  name: `no-upward-from-${low}`,
  comment: `${low} sits below ${ORDER.slice(i + 1).join(', ')}, the front end and compile: it may not import them`,
  severity: 'error',
  from: { path: `${T(low)}/` },
  to: {
    path: [...ORDER.slice(i + 1).map((f) => `${T(f)}/`), FRONT, TOP, '^(cli|plugin|testing)/'],
    pathNot: LEAVES,
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles (type-only imports included)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'no-node-in-ir',
      comment: 'the IR is plain data and functions: no file system, no process',
      severity: 'error',
      from: { path: '^transformer/ir/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'leaves-stay-leaves',
      comment: 'diagnostics, naming and the diagnostic codes are imported by every phase and import only ir',
      severity: 'error',
      from: { path: LEAVES },
      to: { path: '^transformer/', pathNot: [LEAVES, '^transformer/ir/'] },
    },
    {
      name: 'front-end-beside-the-pipeline',
      comment: 'parse and check (TypeScript source → IR) import ir, the leaves and each other only',
      severity: 'error',
      from: { path: FRONT },
      to: {
        path: '^transformer/',
        pathNot: [FRONT, LEAVES, '^transformer/ir/'],
      },
    },
    {
      name: 'runtime-independent-of-transformer',
      comment:
        'parad/runtime ships to browsers and workers: it never imports the transformer, the CLI, the plugins or testing',
      severity: 'error',
      from: { path: '^runtime/' },
      to: { path: '^(transformer|cli|plugin|testing)/' },
    },
    {
      name: 'testing-uses-the-runtime-only',
      comment: 'parad/testing checks compiled modules: it imports the runtime (types), not the transformer',
      severity: 'error',
      from: { path: '^testing/' },
      to: { path: '^(transformer|cli|plugin)/' },
    },
    {
      name: 'transformer-below-its-callers',
      comment: 'the transformer never imports the CLI or the plugins',
      severity: 'error',
      from: { path: '^transformer/' },
      to: { path: '^(cli|plugin)/' },
    },
    {
      name: 'runtime-js-without-gpu',
      comment:
        'the `parad` entry (index.ts: tape, types) and the checkpoint driver run without WebGPU: they import no GPU layer',
      severity: 'error',
      from: { path: '^runtime/(index|checkpoint)\\.ts$' },
      to: { path: '^runtime/(device|kernels|layers|gpu|shader-check)\\.ts$' },
    },
    {
      name: 'runtime-device-at-the-bottom',
      comment:
        'parad/runtime in layers: device (buffers, pipelines, loss) and shader messages → kernels → layers → gpu.ts (the entry)',
      severity: 'error',
      from: { path: '^runtime/(device|shader-check)\\.ts$' },
      to: { path: '^runtime/(kernels|layers|gpu)\\.ts$' },
    },
    {
      name: 'runtime-kernels-below-layers',
      severity: 'error',
      from: { path: '^runtime/kernels\\.ts$' },
      to: { path: '^runtime/(layers|gpu)\\.ts$' },
    },
    {
      name: 'runtime-layers-below-entry',
      severity: 'error',
      from: { path: '^runtime/layers\\.ts$' },
      to: { path: '^runtime/gpu\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|fixtures|test/artifacts|bench/out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
