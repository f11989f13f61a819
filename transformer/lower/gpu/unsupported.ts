/**
 * What the WebGPU lowering cannot run: thrown where the lowering finds it, with the location of the
 * kernel statement when there is one, and turned into a located diagnostic (PARAD3001 for the
 * kernel, a warning and a JavaScript fallback for a derivative) by index.ts.
 */
import type { Loc } from '../../ir/types.js';

/** A construct the WGSL backend does not lower (yet): the message says which. */
export class WgslUnsupported extends Error {
  constructor(
    message: string,
    /** the statement it is about, when known */
    readonly loc?: Loc,
  ) {
    super(message);
  }
}
