/**
 * The asking side of the z3 worker (z3-worker.ts). z3-solver's WASM build, run in the process that
 * analyzes, has been seen to end it: an out-of-bounds access or its heap full in one of its
 * threads is thrown where no `try` catches it, a query abandoned at its deadline left z3 busy
 * under the next one, and a long process (a watch-mode build) grows until z3's heap is full.
 * So every query goes to one worker thread, one query at a time, and:
 * - a crash, an out-of-memory or an error in z3, or no answer by the deadline, makes the query's
 *   answer a failure (`unknown`, which claims nothing; the analysis reports it as PARAD2004) and
 *   the worker is terminated: the next query goes to a fresh one;
 * - the worker is replaced after `maxQueries` queries or once z3 holds `maxHeapMb`, and let go
 *   when idle for `idleMs` (a terminated worker's memory, z3's heap included, returns to the system);
 * - the worker does not keep the process alive while no query is pending.
 */
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NestModel, Site } from './model.js';
import type { Outcome, PlainNest, Ready, Reply, Request, WorkerData } from './types.js';
import type { Condition } from './condition.js';

export interface Z3Options {
  /** a query without an answer after this long (ms) has failed; its worker is terminated */
  deadlineMs: number;
  /** a worker whose z3 has not loaded after this long (ms) has failed */
  startMs: number;
  /** a worker is replaced after this many queries… */
  maxQueries: number;
  /** …or once z3 holds this many MiB after a query */
  maxHeapMb: number;
  /** a worker idle for this long (ms) is terminated (the next query starts one) */
  idleMs: number;
  /** the worker's JavaScript heap limit (MiB): past it the worker stops (an out-of-memory failure) */
  maxOldGenerationSizeMb: number;
  /**
   * A module run as the worker instead of z3-worker (a path or file URL; tests use stand-ins that
   * crash or hang). Default: the `PARAD_Z3_WORKER` environment variable, if set.
   */
  worker?: string;
}

const DEFAULTS: Z3Options = {
  deadlineMs: 30_000,
  startMs: 60_000,
  maxQueries: 500,
  maxHeapMb: 512,
  idleMs: 30_000,
  maxOldGenerationSizeMb: 1024,
};
let options: Z3Options = { ...DEFAULTS, worker: process.env.PARAD_Z3_WORKER || undefined };

/** Changes the client's options (for the workers started from now on); returns the previous ones. */
export function configureZ3(changes: Partial<Z3Options>): Z3Options {
  const previous = options;
  options = { ...options, ...changes };
  return previous;
}

export interface Z3Stats {
  /** workers started */
  workers: number;
  /** queries asked (answered or failed) */
  queries: number;
  /** queries z3 failed on */
  failures: number;
  /** workers replaced after `maxQueries` queries or `maxHeapMb` */
  recycled: number;
  /** ms the last worker's z3 took to load */
  loadMs: number;
}

const stats: Z3Stats = { workers: 0, queries: 0, failures: 0, recycled: 0, loadMs: 0 };

/** Counts since the process started. */
export function z3Stats(): Z3Stats {
  return { ...stats };
}

type Answer<T> = { ok: true; value: T } | { ok: false; cause: string };

/** One worker thread and the one message it is awaited for (its start, or a query's reply). */
class Z3Worker {
  readonly thread: Worker;
  readonly ready: Promise<Answer<Ready>>;
  queries = 0;
  /** why it stopped, once it did */
  private cause?: string;
  private waiter?: (a: Answer<unknown>) => void;
  /** the end of what the worker wrote to stderr (z3's own report of a crash) */
  private stderr = '';

  constructor(file: URL, data: WorkerData) {
    this.thread = new Worker(file, {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb },
      stdout: true,
      stderr: true,
    });
    this.thread.stdout.resume();
    this.thread.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
    this.thread.on('message', (msg: unknown) => this.waiter?.({ ok: true, value: msg }));
    this.thread.on('error', (e: Error & { code?: string }) => this.stop(failureOf(e)));
    this.thread.on('messageerror', (e: Error) => this.stop(`a reply of z3 could not be read (${e.message})`));
    this.thread.on('exit', (code: number) => this.stop(`the z3 worker exited (code ${code})`));
    this.ready = this.next<Ready>(options.startMs, `z3 did not load within ${options.startMs / 1000} s`);
  }

  /** It stopped (crashed, exited, was terminated), between queries too. */
  get stopped(): boolean {
    return this.cause !== undefined;
  }

  /** The next message, or why none came: the worker stopped, or `ms` passed (`late`). */
  next<T>(ms: number, late: string): Promise<Answer<T>> {
    if (this.cause) return Promise.resolve({ ok: false, cause: this.cause });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle({ ok: false, cause: late }), ms);
      this.waiter = (a) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(a as Answer<T>);
      };
    });
  }

  private settle(a: Answer<unknown>): void {
    this.waiter?.(a);
  }

  /** Marks the worker stopped (the first cause wins) and fails what awaits it. */
  private stop(cause: string): void {
    if (!this.cause) {
      // z3's threads print their crash before rethrowing it (`Pthread 0x… sent an error!`)
      const said = this.stderr.trim().split('\n').pop();
      this.cause =
        said && !cause.includes(said) && /error|abort/i.test(said) ? `${cause}; z3 said: ${said.slice(0, 200)}` : cause;
    }
    this.settle({ ok: false, cause: this.cause });
  }

  /** Terminates the thread (and z3's threads in it): at most a few seconds, whatever it was doing. */
  terminate(): Promise<unknown> {
    this.stop('the z3 worker was stopped');
    const timer = new Promise((resolve) => setTimeout(resolve, 5000).unref());
    return Promise.race([this.thread.terminate().catch(() => undefined), timer]);
  }
}

/** A worker's error as the reason of a failed query. */
function failureOf(e: Error & { code?: string }): string {
  const text = `${e.name}: ${e.message}`.split('\n')[0].slice(0, 200);
  if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') return `the z3 worker ran out of memory (${text})`;
  if (/Cannot enlarge memory|out of memory|OOM/i.test(e.message)) return `z3 ran out of memory (${text})`;
  return `z3 crashed (${text})`;
}

let live: Z3Worker | undefined;
/** the termination of the last worker let go: a new one starts after it (one z3 heap at a time) */
let stopping: Promise<unknown> = Promise.resolve();
let idle: ReturnType<typeof setTimeout> | undefined;
/** queries run one after the other: z3-solver refuses a second async call while one runs */
let tail: Promise<unknown> = Promise.resolve();
let nextId = 1;

function letGo(w: Z3Worker): void {
  if (live === w) live = undefined;
  stopping = w.terminate();
}

/** Terminates the worker (tests, tools; the process may also simply exit). */
export async function stopZ3(): Promise<void> {
  await tail;
  if (live) letGo(live);
  await stopping;
}

/**
 * The module run as the worker: z3-worker.js beside this file, or (under vitest, from the
 * TypeScript source) a bundle of z3-worker.ts.
 */
let workerFile: Promise<URL> | undefined;

function realWorker(): Promise<URL> {
  workerFile ??= import.meta.url.endsWith('.ts')
    ? bundleWorker(new URL('./z3-worker.ts', import.meta.url))
    : Promise.resolve(new URL('./z3-worker.js', import.meta.url));
  return workerFile;
}

/**
 * Running from the TypeScript source (vitest): Node runs only JavaScript in a worker, so the worker
 * and what it imports are bundled with esbuild (a dev dependency) into the temporary directory,
 * packages imported by absolute URL. The bundle is named by its content: the source as it is now.
 */
async function bundleWorker(entry: URL): Promise<URL> {
  const esbuild = await import('esbuild');
  const require = createRequire(entry);
  const out = await esbuild.build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'packages-by-url',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith('node:')) return { path: args.path, external: true };
            try {
              return { path: pathToFileURL(require.resolve(args.path)).href, external: true };
            } catch {
              return { path: args.path, external: true };
            }
          });
        },
      },
    ],
  });
  const text = out.outputFiles[0].text;
  const file = path.join(
    os.tmpdir(),
    `parad-z3-worker-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.mjs`,
  );
  if (!fs.existsSync(file)) {
    // written whole, then renamed: a test file running beside this one may read it at any moment
    const partial = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(partial, text);
    fs.renameSync(partial, file);
  }
  return pathToFileURL(file);
}

/** z3's WASM module, compiled once for every worker (undefined if that failed: each worker then compiles it). */
let compiled: Promise<WebAssembly.Module | undefined> | undefined;

function z3Module(): Promise<WebAssembly.Module | undefined> {
  compiled ??= (async () => {
    const wasm = path.join(path.dirname(createRequire(import.meta.url).resolve('z3-solver')), 'z3-built.wasm');
    return WebAssembly.compile(await fs.promises.readFile(wasm));
  })().catch(() => undefined);
  return compiled;
}

async function worker(): Promise<Z3Worker> {
  if (live && !live.stopped) return live;
  // one that died while idle (z3's threads can fail outside a query) is replaced before the query
  if (live) letGo(live);
  await stopping;
  const [real, module] = await Promise.all([realWorker(), z3Module()]);
  const standIn = options.worker !== undefined;
  const file = standIn ? new URL(options.worker!, pathToFileURL(`${process.cwd()}/`)) : real;
  live = new Z3Worker(file, { real: real.href, standIn, module });
  stats.workers++;
  return live;
}

/** Runs `req` (given its id) in the worker; a failure terminates the worker. */
async function dispatch(req: Request): Promise<Answer<Reply & { value: unknown }>> {
  clearTimeout(idle);
  stats.queries++;
  let w: Z3Worker;
  try {
    w = await worker();
  } catch (e) {
    stats.failures++;
    return { ok: false, cause: `z3 could not start (${(e as Error).message})` };
  }
  const failed = (cause: string): Answer<never> => {
    stats.failures++;
    letGo(w);
    return { ok: false, cause };
  };
  const ready = await w.ready;
  if (!ready.ok) return failed(ready.cause);
  stats.loadMs = ready.value.loadMs;
  w.thread.ref();
  try {
    try {
      w.thread.postMessage(req);
    } catch (e) {
      // data that cannot be copied (not plain): this query only, the worker is fine
      stats.failures++;
      return { ok: false, cause: `the query could not be sent to z3 (${(e as Error).message})` };
    }
    const a = await w.next<Reply>(options.deadlineMs, `z3 did not answer within ${options.deadlineMs / 1000} s`);
    if (!a.ok) return failed(a.cause);
    const reply = a.value;
    if ('error' in reply) return failed(`z3 failed (${reply.error.split('\n')[0].slice(0, 200)})`);
    if (reply.id !== req.id) return failed(`the z3 worker answered query ${reply.id} instead of ${req.id}`);
    if (++w.queries >= options.maxQueries || reply.allocated > options.maxHeapMb * 2 ** 20) {
      stats.recycled++;
      letGo(w);
    }
    return { ok: true, value: reply };
  } finally {
    if (live === w) {
      w.thread.unref();
      idle = setTimeout(() => letGo(w), options.idleMs);
      idle.unref();
    }
  }
}

/** A request before it gets its id. */
type Query = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

function ask(req: Query): Promise<Answer<unknown>> {
  const run = tail.then(() => dispatch({ ...req, id: nextId++ } as Request));
  tail = run.catch(() => undefined);
  return run.then((a) => (a.ok ? { ok: true, value: a.value.value } : a));
}

/** The model without its IR node: what is posted to the worker. */
function plain(m: NestModel): PlainNest {
  const { loop: _loop, ...rest } = m;
  return rest;
}

/** `searchConflict` in the worker; `unknown` with `failure` when z3 failed on it. */
export async function askConflict(m: NestModel, first: Site[], second: Site[]): Promise<Outcome> {
  const a = await ask({ kind: 'conflict', model: plain(m), first, second });
  if (a.ok) return a.value as Outcome;
  return { verdict: 'unknown', reason: `z3 failed on this query: ${a.cause}`, failure: a.cause };
}

/** `searchCondition` in the worker; `failure` says why there is no answer when z3 failed on it. */
export async function askCondition(m: NestModel, sites: Site[]): Promise<{ condition?: Condition; failure?: string }> {
  const a = await ask({ kind: 'condition', model: plain(m), sites });
  return a.ok ? { condition: a.value as Condition | undefined } : { failure: a.cause };
}

/** Starts the worker and loads z3 now (benchmarks time the load apart from the queries); the ms it took. */
export async function warmZ3(): Promise<number> {
  const run = tail.then(async () => {
    const w = await worker();
    const ready = await w.ready;
    if (!ready.ok) {
      letGo(w);
      throw new Error(ready.cause);
    }
    stats.loadMs = ready.value.loadMs;
    if (live === w) w.thread.unref();
    return ready.value.loadMs;
  });
  tail = run.catch(() => undefined);
  return run;
}
