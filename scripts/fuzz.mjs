// npm run fuzz: the brute-force check of exclusive-read verdicts (test/exclusive-property.test.ts)
// on PARAD_FUZZ_TOTAL cases (default 10,000), in batches of separate processes: z3's WASM heap only
// shrinks when JavaScript collects the objects that hold it, so one long process would run out.
import { spawnSync } from 'node:child_process';

const total = Number(process.env.PARAD_FUZZ_TOTAL ?? 10_000);
const batch = Number(process.env.PARAD_FUZZ_BATCH ?? 100);
const firstSeed = Number(process.env.PARAD_FUZZ_SEED ?? 1000);
let done = 0;
for (let seed = firstSeed; done < total; seed++) {
  const runs = Math.min(batch, total - done);
  const t0 = Date.now();
  const r = spawnSync('npx', ['vitest', 'run', 'test/exclusive-property.test.ts', '--testTimeout=0'], {
    env: { ...process.env, PARAD_FUZZ_RUNS: String(runs), PARAD_FUZZ_SEED: String(seed) },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  done += runs;
  console.log(
    `seed ${seed}: ${runs} cases ${r.status === 0 ? 'ok' : 'FAILED'} (${((Date.now() - t0) / 1000).toFixed(0)} s, ${done}/${total})`,
  );
  if (r.status !== 0) {
    console.log(r.stdout.slice(-4000), r.stderr.slice(-2000));
    process.exit(1);
  }
}
console.log(`${done} passed, 0 failed`);
