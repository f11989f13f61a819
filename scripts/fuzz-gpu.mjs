// npm run fuzz:gpu: the differential GPU fuzz (test/gpu-fuzz.test.ts) on PARAD_GPU_FUZZ_TOTAL random
// kernels (default 2,400: about 270 per generator), in batches of PARAD_GPU_FUZZ_BATCH per generator
// (default 5), one seed per batch from PARAD_GPU_FUZZ_SEED (default 1000), each batch a vitest run
// of its own. Prints each batch's seed, counts and failures (with the command replaying it); exits
// non-zero if any batch failed. The seeds' counts also go to bench/out/gpu-fuzz.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GENERATORS = 9;
const total = Number(process.env.PARAD_GPU_FUZZ_TOTAL ?? 2400);
const batch = Number(process.env.PARAD_GPU_FUZZ_BATCH ?? 5);
const firstSeed = Number(process.env.PARAD_GPU_FUZZ_SEED ?? 1000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parad-fuzz-gpu-'));
const sum = { cases: 0, ran: 0, adjoints: 0, refused: 0, crashes: 0, failed: 0 };
const failedSeeds = [];
for (let seed = firstSeed; sum.cases < total; seed++) {
  const t0 = Date.now();
  const reportFile = path.join(dir, `${seed}.json`);
  const r = spawnSync('npx', ['vitest', 'run', 'test/gpu-fuzz.test.ts', '--testTimeout=0'], {
    env: {
      ...process.env,
      PARAD_GPU_FUZZ_RUNS: String(batch),
      PARAD_GPU_FUZZ_SEED: String(seed),
      PARAD_GPU_FUZZ_REPORT: reportFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const rep = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : undefined;
  const counts = rep?.counts ?? { cases: batch * GENERATORS, ran: 0, adjoints: 0, refused: 0, crashes: 0 };
  for (const k of Object.keys(counts)) sum[k] += counts[k];
  const failures =
    rep?.failures ?? (r.status === 0 ? [] : [`the run failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`]);
  sum.failed += failures.length;
  if (failures.length) failedSeeds.push(seed);
  console.log(
    `seed ${seed}: ${JSON.stringify(counts)} ${failures.length ? `${failures.length} FAILED` : 'ok'} (${((Date.now() - t0) / 1000).toFixed(0)} s, ${sum.cases}/${total})`,
  );
  for (const f of failures) console.log(`  ${f.split('\n').join('\n  ')}`);
}
console.log(`total: ${JSON.stringify(sum)}${failedSeeds.length ? `; failed seeds ${failedSeeds.join(', ')}` : ''}`);
fs.mkdirSync('bench/out', { recursive: true });
fs.writeFileSync('bench/out/gpu-fuzz.json', JSON.stringify({ firstSeed, batch, ...sum, failedSeeds }, null, 2));
process.exit(failedSeeds.length ? 1 : 0);
