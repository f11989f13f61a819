import type { BuildContext } from 'esbuild';
/** The esbuild context of the example (parad/esbuild with target ts,wgsl), writing examples/deblur/dist/. */
export function exampleContext(): Promise<BuildContext>;
