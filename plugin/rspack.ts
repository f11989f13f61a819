/**
 * parad/rspack: importing a kernel file yields the module `parad transpile` generates for it, as
 * with parad/esbuild (same options, same cache; docs/bundlers.md). The unplugin core is
 * plugin/unplugin.ts.
 */
import { unpluginParad } from './unplugin.js';

export type { ParadPluginOptions } from './core.js';

/** The Rspack plugin. */
export const parad = unpluginParad.rspack;
export default parad;
