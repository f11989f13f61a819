/**
 * The exclusive-read analysis' queries, as index.ts asks them: each runs first in this thread
 * (solve.ts's searches settle some cases without z3), and goes to the z3 worker (z3-client.ts) as
 * soon as it needs z3. The dispatch sits here, apart from the searches, so that the worker's side
 * (z3-worker.ts → solve.ts) never imports the client.
 */
import type { NestModel, Site } from './model.js';
import type { Outcome } from './types.js';
import type { Condition } from './condition.js';
import { NeedsZ3, z3Refusals, searchConflict, searchCondition } from './solve.js';
import { askConflict, askCondition } from './z3-client.js';

/**
 * `query`'s answer when it needs no z3 (the searches settle some cases before loading it), else
 * undefined: then the z3 worker answers. A worker start per file that never needed z3 is spared.
 */
async function withoutZ3<T>(query: () => Promise<T>): Promise<{ value: T } | undefined> {
  const refused = z3Refusals();
  try {
    const value = await query();
    // a refusal caught inside the query (or another analysis' meanwhile): ask the worker
    return z3Refusals() === refused ? { value } : undefined;
  } catch (e) {
    if (e instanceof NeedsZ3 || z3Refusals() !== refused) return undefined;
    throw e;
  }
}

/**
 * Is there a conflict between any access of `first` and any of `second` (pairs of accesses to
 * the same array, from two different iterations)? Asked of the z3 worker: when z3 fails on the
 * query (crash, out of memory, no answer by the deadline) the outcome is `unknown` with `failure`.
 */
export async function findConflict(m: NestModel, first: Site[], second: Site[]): Promise<Outcome> {
  return (await withoutZ3(() => searchConflict(m, first, second)))?.value ?? askConflict(m, first, second);
}

/**
 * The condition on parameters under which no conflict exists, if there are parameter values (with
 * at least two iterations) where the nest reads exclusively: then the verdict is `depends`.
 * Returns undefined when conflicts happen for every such parameter value, or when quantifier
 * elimination does not give an answer, or when z3 failed on the query.
 */
export async function exclusiveCondition(m: NestModel, sites: Site[]): Promise<Condition | undefined> {
  return (await conditionOf(m, sites)).condition;
}

/** `exclusiveCondition`, and when z3 failed on the query, why (then there is no condition). */
export async function conditionOf(m: NestModel, sites: Site[]): Promise<{ condition?: Condition; failure?: string }> {
  const here = await withoutZ3(() => searchCondition(m, sites));
  return here ? { condition: here.value } : askCondition(m, sites);
}
