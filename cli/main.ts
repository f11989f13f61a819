/**
 * The `parad` command.
 *
 *   parad transpile <files or globs…> --out <dir> [--format ts|js] [--modes d,b] [--check] [--quiet]
 *
 * Exit codes: 0 success, 1 diagnostics with errors (or stale output with --check), 2 usage errors
 * (unknown flags, missing files).
 */
import { Command, CommanderError, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { glob, isDynamicPattern } from 'tinyglobby';
import { compile, formatDiagnostic, type Mode } from '../transformer/index.js';

interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
}

class UsageError extends Error {}

/** The version in parad's package.json (found upwards from this module: cli/ or dist/cli/). */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'parad') return pkg.version;
    }
    const up = path.dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/** Expands files and globs (relative to cwd); every plain file must exist, every glob must match. */
async function resolveInputs(patterns: string[], cwd: string): Promise<string[]> {
  const out = new Set<string>();
  for (const p of patterns) {
    if (isDynamicPattern(p)) {
      // generated modules are outputs, never inputs
      const found = await glob(p, { cwd, onlyFiles: true, ignore: ['**/*.ad.ts', '**/*.ad.js', '**/node_modules/**'] });
      if (!found.length) throw new UsageError(`no files match '${p}'`);
      for (const f of found.sort()) out.add(f);
    } else {
      const abs = path.resolve(cwd, p);
      if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) throw new UsageError(`file not found: ${p}`);
      out.add(path.relative(cwd, abs));
    }
  }
  return [...out];
}

const outputName = (file: string, format: 'ts' | 'js') => `${path.basename(file).replace(/\.(m|c)?[tj]sx?$/, '')}.ad.${format}`;

/** Writes `text` to `file` through a temporary file in the same directory and a rename. */
function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

interface TranspileOptions {
  out: string;
  format: 'ts' | 'js';
  modes: string;
  check?: boolean;
  quiet?: boolean;
}

function parseModes(s: string): Mode[] {
  const modes = s.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of modes) if (m !== 'd' && m !== 'b') throw new UsageError(`unknown mode '${m}' in --modes (use d, b or d,b)`);
  if (!modes.length) throw new UsageError('--modes needs at least one of d, b');
  return [...new Set(modes)] as Mode[];
}

async function transpile(patterns: string[], opts: TranspileOptions, io: Io): Promise<number> {
  const modes = parseModes(opts.modes);
  const files = await resolveInputs(patterns, io.cwd);
  let failed = false;
  const stale: string[] = [];
  for (const file of files) {
    const source = fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
    const fileName = file.split(path.sep).join('/');
    const result = compile(source, { fileName, format: opts.format, modes });
    for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(d, source)}\n\n`);
    if (!result.code) {
      failed = true;
      continue;
    }
    const target = path.join(opts.out, outputName(file, opts.format));
    const abs = path.resolve(io.cwd, target);
    if (opts.check) {
      const current = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : undefined;
      if (current !== result.code) stale.push(`${target}${current === undefined ? ' (missing)' : ''}`);
      continue;
    }
    writeAtomically(abs, result.code);
    if (!opts.quiet) io.stdout(`wrote ${target} (${result.kernels.length} kernel${result.kernels.length === 1 ? '' : 's'})\n`);
  }
  if (stale.length) io.stderr(`stale output (run parad transpile without --check):\n${stale.map((s) => `  ${s}`).join('\n')}\n`);
  return failed || stale.length ? 1 : 0;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], io: Partial<Io> = {}): Promise<number> {
  const sink: Io = {
    stdout: io.stdout ?? ((s) => process.stdout.write(s)),
    stderr: io.stderr ?? ((s) => process.stderr.write(s)),
    cwd: io.cwd ?? process.cwd(),
  };
  let code = 0;
  const program = new Command('parad')
    .description('Automatic differentiation of parallel TypeScript kernels: tangent (K_d) and adjoint (K_b) code.')
    .version(packageVersion(), '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: sink.stdout, writeErr: sink.stderr })
    .showHelpAfterError('(run parad --help for usage)');
  program
    .command('transpile')
    .description('write <out>/<name>.ad.ts (or .ad.js) exporting each kernel K with K_d and K_b')
    .argument('<files...>', 'kernel files or globs')
    .requiredOption('-o, --out <dir>', 'output directory')
    .addOption(new Option('-f, --format <format>', 'output language').choices(['ts', 'js']).default('ts'))
    .option('-m, --modes <modes>', 'derivative modes: d (tangent), b (adjoint)', 'd,b')
    .option('--check', 'write nothing; exit 1 if an output file is missing or stale')
    .option('-q, --quiet', 'do not list written files')
    .action(async (files: string[], opts: TranspileOptions) => {
      code = await transpile(files, opts, sink);
    });
  try {
    if (!argv.length) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0 through commander; usage errors exit 2
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      sink.stderr(`parad: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
