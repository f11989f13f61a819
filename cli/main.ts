/**
 * The `parad` command (docs/cli.md). `main(argv)` runs it in-process and returns the exit code:
 * 0 success, 1 errors in a kernel file (or stale outputs with --check), 2 usage errors.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { glob, isDynamicPattern } from 'tinyglobby';
import {
  analyze,
  compile,
  formatDiagnostic,
  resolveFromDisk,
  type Diagnostic,
  type FileReport,
  type Mode,
  type Strategy,
  type Target,
} from '../transformer/index.js';
import { CODES } from '../transformer/check/codes.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Where the command reads and writes; the defaults are the process's. */
export interface CliIO {
  cwd?: string;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

interface Context {
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

/** A mistake in how the command was called: reported without a stack trace, exit code 2. */
class UsageError extends Error {}

interface TranspileOptions {
  out: string;
  format: 'ts' | 'js';
  modes: Mode[];
  adjoint?: Strategy;
  schedule?: 'sequential' | 'parallel';
  target: Target[];
  emitWgsl?: string;
  check?: boolean;
  quiet?: boolean;
}

/** Runs `parad` with `argv` (the arguments after the command name); resolves to the exit code. */
export async function main(argv: string[], io: CliIO = {}): Promise<number> {
  const ctx: Context = {
    cwd: path.resolve(io.cwd ?? process.cwd()),
    out: io.stdout ?? ((text) => process.stdout.write(text)),
    err: io.stderr ?? ((text) => process.stderr.write(text)),
  };
  let code = EXIT_OK;
  const program = new Command('parad')
    .description('Source-to-source automatic differentiation of parallel TypeScript kernels.')
    .version(packageVersion(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .configureOutput({ writeOut: ctx.out, writeErr: ctx.err, outputError: (text, write) => write(`parad: ${text}`) })
    .showHelpAfterError('(run parad --help for usage)')
    .exitOverride();

  program
    .command('transpile')
    .description('write the tangent (K_d) and adjoint (K_b) of every @kernel in the given files to <dir>/<name>.ad.ts')
    .argument('<files...>', "kernel files or globs (quote globs: 'kernels/**/*.ts')")
    .requiredOption('-o, --out <dir>', 'output directory (created if missing)')
    .addOption(new Option('-f, --format <format>', 'output language').choices(['ts', 'js']).default('ts'))
    .addOption(
      new Option('-m, --modes <modes>', 'derivative modes to generate, comma-separated: d (tangent), b (adjoint)')
        .argParser(parseModes)
        .default(['d', 'b'], 'd,b'),
    )
    .addOption(
      new Option(
        '-t, --target <targets>',
        'targets, comma-separated: ts (the TypeScript/JS module), wgsl (also export `wgsl`: WebGPU compute shaders; docs/wgsl.md)',
      )
        .argParser(parseTargets)
        .default(['ts'], 'ts'),
    )
    .option(
      '--emit-wgsl <dir>',
      'with --target wgsl (required): also write each shader to <dir>/<function>.<pass>.wgsl for inspection',
    )
    .addOption(
      new Option(
        '--adjoint <strategy>',
        "use this adjoint strategy for every parallel read where it applies, instead of the schedule's choice (direct: racy on parallel targets where reads are shared)",
      ).choices(['direct', 'gather', 'reduction', 'atomic']),
    )
    .addOption(
      new Option(
        '--schedule <kind>',
        "how the JavaScript adjoint's parallel loops are scheduled: sequential (plain updates, the fastest in JS) or parallel (gathers and reductions, as a parallel target needs)",
      )
        .choices(['sequential', 'parallel'])
        .default('sequential'),
    )
    .option('--check', 'write nothing; exit 1 if an output is missing or differs from what would be written')
    .option('-q, --quiet', 'print only diagnostics and errors')
    .action(async (files: string[], opts: TranspileOptions) => {
      code = await transpile(files, opts, ctx);
    });

  program
    .command('analyze')
    .description('report, per kernel, parallel loop and array, whether reads are exclusive and the adjoint strategy')
    .argument('<files...>', 'kernel files or globs')
    .option('--json', 'print the report as JSON (docs/analyze.md, docs/analyze.schema.json)')
    .action(async (files: string[], opts: { json?: boolean }) => {
      code = await analyzeFiles(files, opts, ctx);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    // commander has printed its message (or the help / version) already
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (e instanceof UsageError) {
      ctx.err(`parad: error: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

function parseTargets(value: string): Target[] {
  const targets = value
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const bad = targets.filter((m) => m !== 'ts' && m !== 'wgsl');
  if (!targets.length || bad.length)
    throw new InvalidArgumentError(`expected ts, wgsl or ts,wgsl${bad.length ? ` (unknown target '${bad[0]}')` : ''}`);
  return [...new Set(['ts', ...targets])] as Target[];
}

function parseModes(value: string): Mode[] {
  const modes = value
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const bad = modes.filter((m) => m !== 'd' && m !== 'b');
  if (!modes.length || bad.length)
    throw new InvalidArgumentError(`expected d, b or d,b${bad.length ? ` (unknown mode '${bad[0]}')` : ''}`);
  return [...new Set(modes)] as Mode[];
}

/** The version in parad's package.json (found from both cli/ and dist/cli/). */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'parad' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: keep looking upwards
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/** `a/b.ts` relative to the working directory, with forward slashes (also the `fileName` given to compile). */
const display = (ctx: Context, file: string) => path.relative(ctx.cwd, file).split(path.sep).join('/') || '.';
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Input files for the patterns, in argument order (each glob's matches sorted), without duplicates;
 * `globbed`: the files only a glob matched (not named on the command line).
 */
async function resolveInputs(patterns: string[], ctx: Context): Promise<{ files: string[]; globbed: Set<string> }> {
  const files: string[] = [];
  const named = new Set<string>();
  for (const pattern of patterns) {
    if (isDynamicPattern(pattern)) {
      const matches = await glob(pattern, {
        cwd: ctx.cwd,
        absolute: true,
        onlyFiles: true,
        ignore: ['**/node_modules/**', '**/*.ad.ts', '**/*.ad.js', '**/*.d.ts'],
      });
      if (!matches.length) throw new UsageError(`no files match '${pattern}'`);
      files.push(...matches.map((f) => path.resolve(f)).sort());
      continue;
    }
    const file = path.resolve(ctx.cwd, pattern);
    const info = await stat(file).catch(() => undefined);
    if (!info) throw new UsageError(`file not found: ${pattern}`);
    if (!info.isFile())
      throw new UsageError(
        `${pattern} is not a file (to transpile a folder, pass a glob such as '${pattern.replace(/\/$/, '')}/*.ts')`,
      );
    files.push(file);
    named.add(file);
  }
  return { files: [...new Set(files)], globbed: new Set(files.filter((f) => !named.has(f))) };
}

/**
 * A file a glob matched that declares no kernel or layer (a helper module beside the kernels) is
 * skipped with a note; named on the command line, it is an error (PARAD1010).
 */
function skipped(input: string, globbed: Set<string>, diagnostics: Diagnostic[], ctx: Context): boolean {
  if (!globbed.has(input) || diagnostics.length !== 1 || diagnostics[0].code !== CODES.noKernels) return false;
  ctx.err(`${display(ctx, input)}: skipped (no @kernel or @layer functions)\n`);
  return true;
}

/** Output path for each input; two inputs with the same name would overwrite each other. */
function planOutputs(inputs: string[], outDir: string, format: 'ts' | 'js', ctx: Context): Map<string, string> {
  const targets = new Map<string, string>();
  const owner = new Map<string, string>();
  for (const input of inputs) {
    const target = path.join(outDir, `${path.basename(input, path.extname(input))}.ad.${format}`);
    const other = owner.get(target);
    if (other)
      throw new UsageError(
        `${display(ctx, other)} and ${display(ctx, input)} would both be written to ${display(ctx, target)}`,
      );
    owner.set(target, input);
    targets.set(input, target);
  }
  return targets;
}

/** Writes through a temporary file in the same directory, so a reader never sees a partial file. */
async function writeAtomically(target: string, text: string): Promise<void> {
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await writeFile(tmp, text, { flag: 'wx' });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function transpile(patterns: string[], opts: TranspileOptions, ctx: Context): Promise<number> {
  // the shaders are part of the wgsl target's output: without it there would be nothing to write
  if (opts.emitWgsl && !opts.target.includes('wgsl'))
    throw new UsageError('--emit-wgsl writes the shaders of --target wgsl: add --target wgsl');
  const { files: inputs, globbed } = await resolveInputs(patterns, ctx);
  const outDir = path.resolve(ctx.cwd, opts.out);
  const outInfo = await stat(outDir).catch(() => undefined);
  if (outInfo && !outInfo.isDirectory()) throw new UsageError(`--out ${opts.out} is not a directory`);
  const targets = planOutputs(inputs, outDir, opts.format, ctx);
  if (opts.format === 'js' && !opts.check) {
    const pkg = nearestPackageJson(outDir);
    if (pkg?.type !== 'module') {
      ctx.err(
        `parad: warning: the generated .ad.js files are ES modules, but Node will load them as CommonJS: ${pkg ? `${display(ctx, pkg.file)} has no "type": "module"` : 'no package.json with "type": "module" above the output folder'}. Set it, or use --format ts with a bundler.\n`,
      );
    }
  }
  const say = (text: string) => {
    if (!opts.quiet) ctx.out(`${text}\n`);
  };
  let failed = false;

  for (const input of inputs) {
    const fileName = display(ctx, input);
    const target = targets.get(input)!;
    const source = await readFile(input, 'utf8');
    let result;
    try {
      result = await compile(source, {
        fileName,
        format: opts.format,
        modes: opts.modes,
        strategy: opts.adjoint,
        schedule: opts.schedule,
        targets: opts.target,
        resolveImport: (spec, from) => resolveFromDisk(spec, from, ctx.cwd),
      });
    } catch (e) {
      ctx.err(
        `parad: error: internal error while compiling ${fileName}: ${(e as Error).stack ?? e}\nPlease report it with this file.\n`,
      );
      failed = true;
      continue;
    }
    if (skipped(input, globbed, result.diagnostics, ctx)) continue;
    for (const d of result.diagnostics) ctx.err(`${formatDiagnostic(d, source)}\n\n`);
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    if (errors || result.code === undefined) {
      const warnings = result.diagnostics.length - errors;
      ctx.err(
        `${fileName}: ${plural(errors, 'error')}${warnings ? `, ${plural(warnings, 'warning')}` : ''}; ${display(ctx, target)} not ${opts.check ? 'checked' : 'written'}\n`,
      );
      failed = true;
      continue;
    }

    const shown = display(ctx, target);
    if (opts.check) {
      const current = await readIfExists(target);
      if (current === result.code) {
        say(`${shown} is up to date`);
      } else {
        ctx.err(
          `${shown} is ${current === undefined ? 'missing' : 'out of date'} (run the same command without --check to regenerate it)\n`,
        );
        failed = true;
      }
      continue;
    }
    try {
      await mkdir(outDir, { recursive: true });
      await writeAtomically(target, result.code);
    } catch (e) {
      ctx.err(`parad: error: cannot write ${shown}: ${(e as Error).message}\n`);
      failed = true;
      continue;
    }
    const layers = result.kernels.filter((k) => k.kind === 'layer').length;
    const kernels = result.kernels.length - layers;
    say(
      `wrote ${shown} (${[kernels || !layers ? plural(kernels, 'kernel') : '', layers ? plural(layers, 'layer') : ''].filter(Boolean).join(', ')})`,
    );
    if (opts.emitWgsl && result.shaders?.length) {
      const dir = path.resolve(ctx.cwd, opts.emitWgsl);
      await mkdir(dir, { recursive: true });
      for (const sh of result.shaders) await writeAtomically(path.join(dir, `${sh.fn}.${sh.pass}.wgsl`), sh.code);
      say(`wrote ${plural(result.shaders.length, 'shader')} to ${display(ctx, dir)}`);
    }
  }
  return failed ? EXIT_FAILED : EXIT_OK;
}

/** `parad analyze`: the exclusive-read report (a table, or JSON on stdout); diagnostics on stderr. */
async function analyzeFiles(patterns: string[], opts: { json?: boolean }, ctx: Context): Promise<number> {
  const { files: inputs, globbed } = await resolveInputs(patterns, ctx);
  const files: FileReport[] = [];
  let failed = false;
  for (const input of inputs) {
    const fileName = display(ctx, input);
    const source = await readFile(input, 'utf8');
    const result = await analyze(source, {
      fileName,
      resolveImport: (spec, from) => resolveFromDisk(spec, from, ctx.cwd),
    });
    if (skipped(input, globbed, result.diagnostics, ctx)) continue;
    for (const d of result.diagnostics) ctx.err(`${formatDiagnostic(d, source)}\n\n`);
    if (result.diagnostics.some((d) => d.severity === 'error')) failed = true;
    files.push(result.report);
    if (!opts.json) ctx.out(`${result.text}\n\n`);
  }
  if (opts.json) ctx.out(`${JSON.stringify(toJson(files), null, 2)}\n`);
  return failed ? EXIT_FAILED : EXIT_OK;
}

/** The stable JSON shape of docs/analyze.schema.json (only the documented keys). */
function toJson(files: FileReport[]) {
  return {
    files: files.map((f) => ({
      file: f.file,
      kernels: f.kernels.map((k) => ({
        name: k.name,
        loops: k.loops.map((l) => ({
          line: l.line,
          indices: l.indices,
          reads: l.reads.map((r) => ({
            name: r.name,
            exclusiveRead: r.exclusiveRead,
            strategy: r.strategy,
            reason: r.reason,
            targets: {
              ts: r.targets?.ts ?? { strategy: r.strategy, reason: r.reason },
              wgsl: r.targets?.wgsl ?? { strategy: r.strategy, reason: r.reason },
            },
            condition: r.condition,
            witness: r.witness,
            assumed: r.assumed,
          })),
        })),
      })),
      // layer reports are built with exactly the documented keys
      ...(f.layers ? { layers: f.layers } : {}),
    })),
  };
}

/** The package.json governing how Node loads `.js` files in `dir`. */
function nearestPackageJson(dir: string): { file: string; type?: string } | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const file = path.join(d, 'package.json');
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { type?: string };
      return { file, type: pkg.type };
    } catch {
      // none here (or unreadable): look further up
    }
    if (path.dirname(d) === d) return undefined;
  }
}
