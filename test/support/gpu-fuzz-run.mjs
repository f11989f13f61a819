// Runs random kernels (test/gpu-fuzz.test.ts, scripts/fuzz-gpu.mjs) on WebGPU (dawn.node over
// SwiftShader, WebGPU's default limits) and in JavaScript: each case through checkSource
// (gpu-check.mjs). A separate process: dawn.node is not stable inside vitest's workers.
//   PARAD_GPU_CASES=cases.json PARAD_GPU_OUT=report.json node test/support/gpu-fuzz-run.mjs
// cases.json: [{ name, source, specs: [{ kernel, tag, args, types }] }]; the report: { adapter,
// canRun, cases: { [name]: entry } }, rewritten after each case; while a case runs its name is in
// `${PARAD_GPU_OUT}.running` (the parent names a case that crashed or hung the process, and goes on).
import fs from 'node:fs';
import { checkCompiled, compileSource, openDevice } from './gpu-check.mjs';

const cases = JSON.parse(fs.readFileSync(process.env.PARAD_GPU_CASES, 'utf8'));
// everything compiled before the device opens
const compiled = [];
for (const c of cases)
  compiled.push(await compileSource(c.source, `${c.name}.ts`).catch((e) => ({ error: String(e?.stack ?? e) })));
const { adapter, device, canRun } = await openDevice();
const report = { adapter: `${adapter.info.vendor} ${adapter.info.description}`.trim(), canRun, cases: {} };
for (const [i, c] of cases.entries()) {
  // the case being run, for the parent to name if dawn.node or SwiftShader crash the process
  fs.writeFileSync(`${process.env.PARAD_GPU_OUT}.running`, c.name);
  try {
    if (compiled[i].error) throw new Error(compiled[i].error);
    report.cases[c.name] = await checkCompiled(device, canRun, compiled[i], c.specs);
  } catch (e) {
    report.cases[c.name] = { diagnostics: [], tint: [], runs: [], failure: String(e?.stack ?? e) };
  }
  // written after each case: a crash keeps what ran before it
  fs.writeFileSync(process.env.PARAD_GPU_OUT, JSON.stringify(report));
}
fs.writeFileSync(process.env.PARAD_GPU_OUT, JSON.stringify(report));
fs.rmSync(`${process.env.PARAD_GPU_OUT}.running`, { force: true });
device.destroy();
process.exit(0);
