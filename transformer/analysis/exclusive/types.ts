/**
 * The exclusive-read analysis' shared types: a query's outcome and its witness (solve.ts and the
 * fast paths produce them, index.ts reads them), and the messages between z3-client.ts and the z3
 * worker (z3-worker.ts). A module of its own so that those files need not import each other.
 */
import type { NestModel, Site } from './model.js';
import type { Condition } from './condition.js';

export interface Witness {
  params: Record<string, number>;
  /** the two iterations, by nest variable */
  iterations: [Record<string, number>, Record<string, number>];
  /** the element both access */
  element: number;
  /** the two accesses (source text) */
  accesses: [string, string];
}

export type Outcome =
  | { verdict: 'none' }
  | { verdict: 'conflict'; witness: Witness; certain: boolean; uncertainty: string }
  | {
      verdict: 'unknown';
      reason: string /** z3 failed on the query (crashed, ran out of memory, no answer in time): why */;
      failure?: string;
    };

/** A nest model as posted to the z3 worker: everything but the IR node. */
export type PlainNest = Omit<NestModel, 'loop'>;

/** A query for the z3 worker (`searchConflict` or `searchCondition` of solve.ts). */
export type Request =
  | { id: number; kind: 'conflict'; model: PlainNest; first: Site[]; second: Site[] }
  | { id: number; kind: 'condition'; model: PlainNest; sites: Site[] };

export type Reply =
  | { id: number; value: Outcome | Condition | undefined /** bytes z3 holds after the query */; allocated: number }
  | { id: number; error: string };

/** What the z3 worker posts once z3 is loaded. */
export interface Ready {
  ready: true;
  /** ms z3 took to load */
  loadMs: number;
}

/** What the z3 worker's `workerData` holds (z3-client.ts passes it). */
export interface WorkerData {
  /** URL of z3-worker's module (a stand-in worker imports it from there) */
  real: string;
  /** the entry is a stand-in that imports z3-worker: it serves, not z3-worker */
  standIn: boolean;
  /**
   * z3's WASM module, compiled once by the client: a fresh worker instantiates it in a fraction
   * of the time a compile takes, and shares the optimized code of the workers before it.
   */
  module?: WebAssembly.Module;
}
