// A stand-in z3 worker (z3-client's `worker` option, or PARAD_Z3_WORKER): the real one
// (transformer/analysis/exclusive/z3-worker.ts, at workerData.real) answers every query, except a
// query about a nest with an integer parameter named after a fault, which gets the fault instead:
//   crash     z3's crash: an exception thrown from z3's threads, uncaught (the worker dies)
//   enlarge   z3's heap full: `Aborted(Cannot enlarge memory arrays …)`, uncaught
//   oom       the worker's JavaScript heap exhausted (ERR_WORKER_OUT_OF_MEMORY)
//   hang      no answer ever, the thread busy (only terminating it ends it)
//   exit      the worker exits (Emscripten's `quit`)
//   error     the query throws inside z3 (an error reply; the worker lives on)
// A parameter named `<fault>cond` (`crashcond`) faults on the exclusive-read condition query only.
import { parentPort, workerData } from 'node:worker_threads';

const real = await import(workerData.real);

const faults = {
  crash: () =>
    setTimeout(() => {
      throw new WebAssembly.RuntimeError('memory access out of bounds');
    }),
  enlarge: () =>
    setTimeout(() => {
      throw new WebAssembly.RuntimeError('Aborted(Cannot enlarge memory arrays to size 226133196 bytes (OOM).)');
    }),
  oom: () => {
    const hoard = [];
    for (;;) hoard.push(new Array(1 << 16).fill(hoard.length));
  },
  hang: () => {
    for (;;);
  },
  exit: () => process.exit(7),
};

real.serve(parentPort, async (req) => {
  const params = req.model.params;
  for (const [name, fault] of Object.entries(faults)) {
    if (params.has(name) || (req.kind === 'condition' && params.has(`${name}cond`))) {
      fault();
      return new Promise(() => {});
    }
  }
  if (params.has('error')) return { id: req.id, error: 'RuntimeError: unreachable' };
  return real.answer(req);
});
