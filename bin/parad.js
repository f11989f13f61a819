#!/usr/bin/env node
// The `parad` command: runs dist/cli/main.js, which `npm run build` (run by `npm ci`) compiles.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('parad: error: dist/cli/main.js is missing: build parad first (npm run build)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
// Setting exitCode instead of calling process.exit() lets pending stdout/stderr writes flush first.
process.exitCode = await main(process.argv.slice(2));
// If a worker thread (z3-solver's) still holds the event loop, leave anyway once output is flushed.
setTimeout(() => process.exit(), 2000).unref();
