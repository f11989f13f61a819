#!/usr/bin/env node
// The `parad` command: runs the compiled CLI (dist/ is built by `npm run build`, run by `npm ci`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
