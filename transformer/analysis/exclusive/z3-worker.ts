/**
 * The z3 worker: a worker thread that runs the exclusive-read analysis' z3 queries (solve.ts's
 * `searchConflict` and `searchCondition`) one at a time for z3-client.ts. z3-solver's WASM build can
 * crash (a memory access out of bounds, its 2 GiB heap full: an exception thrown from its own
 * threads that no `try` catches) or never settle; here that ends this thread, not the process that
 * asked, and the client moves on to a fresh worker.
 *
 * Messages (their types are in types.ts): the worker posts `Ready` once z3 is loaded, then answers
 * each `Request` with a `Reply` of the same id. Requests carry the nest model without its IR node
 * (`loop`); everything else in it is plain data (Maps, Sets, arrays, numbers, strings), copied
 * whole, so fields added to NestModel, Site or Range travel without changes here.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { getZ3, useZ3Here, searchConflict, searchCondition } from './solve.js';
import type { NestModel } from './model.js';
import type { Ready, Reply, Request, WorkerData } from './types.js';

/** Loads z3 (the first query would otherwise pay for it under its deadline). */
export async function start(): Promise<Ready> {
  const module = (workerData as WorkerData | undefined)?.module;
  type Receive = (instance: WebAssembly.Instance, module: WebAssembly.Module) => void;
  // Emscripten's hook: instantiate what was compiled (its pthreads get the module from here)
  const instantiateWasm = (imports: WebAssembly.Imports, receive: Receive) => {
    void WebAssembly.instantiate(module!, imports).then((instance) => receive(instance, module!));
    return {};
  };
  useZ3Here(module ? { instantiateWasm } : {});
  const { loadMs } = await getZ3();
  return { ready: true, loadMs };
}

/** Runs one query. A failure inside z3 that surfaces as an exception becomes an error reply. */
export async function answer(req: Request): Promise<Reply> {
  try {
    // the model arrives without its IR node, which the queries do not read
    const m = req.model as NestModel;
    const value =
      req.kind === 'conflict' ? await searchConflict(m, req.first, req.second) : await searchCondition(m, req.sites);
    return { id: req.id, value, allocated: (await getZ3()).allocated() };
  } catch (e) {
    return { id: req.id, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/**
 * Answers `port`'s requests with `handle`, one at a time (z3-solver refuses a second async call
 * while one runs), after posting `Ready`.
 */
export async function serve(port: MessagePort, handle: (req: Request) => Promise<Reply> = answer): Promise<void> {
  let tail = Promise.resolve();
  port.on('message', (req: Request) => {
    tail = tail.then(async () => port.postMessage(await handle(req)));
  });
  port.postMessage(await start());
}

const data = workerData as WorkerData | undefined;
if (parentPort && data && !data.standIn) void serve(parentPort);
