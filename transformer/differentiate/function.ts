/** A generated function before printing: signature, header comment and IR body. */
import type { Stmt } from '../ir/types.js';

export interface FunctionIR {
  name: string;
  params: { name: string; type: string }[];
  returnType: string;
  /** Lines of the comment printed above the function. */
  comment: string[];
  body: Stmt[];
  /** false: module-local (default: exported) */
  exported?: boolean;
}
