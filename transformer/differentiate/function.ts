/** A generated function before printing: signature, header comment and IR body. */
import type { Stmt } from '../ir/types.js';

export interface FunctionIR {
  name: string;
  params: { name: string; type: string }[];
  returnType: string;
  /** Lines of the comment printed above the function. */
  comment: string[];
  body: Stmt[];
  /** an adjoint's returned object: its keys and the local each holds */
  results?: { key: string; name: string }[];
  /** false: module-local (default: exported) */
  exported?: boolean;
}
