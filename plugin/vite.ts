/**
 * parad/vite: importing a kernel file yields the module `parad transpile` generates for it, as
 * with parad/esbuild (same options, same cache; docs/bundlers.md). The unplugin core is
 * plugin/unplugin.ts.
 */
import { unpluginParad } from './unplugin.js';

export type { ParadPluginOptions } from './core.js';

/** The Vite plugin. */
export const parad = unpluginParad.vite;
export default parad;
