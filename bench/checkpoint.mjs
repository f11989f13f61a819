// npm run bench:checkpoint: the adjoint of the time-stepped heat equation (fixtures/heat, n = 100,000,
// T = 1000) with optimal checkpointing (runtime/checkpoint.ts, the generated one-step heat_b per
// step) for c slots, vs the generated store-all heat_b and the primal: time, forward steps, peak
// memory of the stored states, per c; a table on stdout and an SVG plot in bench/out/checkpoint.svg.
// (The @layer functions of issue 7 will generate this loop; the measurement is of the same work.)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../dist/transformer/index.js';
import * as runtime from '../dist/runtime/index.js';
import { loadGenerated } from '../test/support/load-generated.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const n = Number(process.env.BENCH_N ?? 100_000), T = Number(process.env.BENCH_T ?? 1000), kappa = 0.2;
const SLOTS = [2, 3, 5, 10, 20, 50, 100];
// JavaScript runs sequentially: the direct (scatter) adjoint is its fastest (BENCH_STRATEGY=gather etc. for the others)
const strategy = process.env.BENCH_STRATEGY ?? 'direct';
const r = await compile(fs.readFileSync(path.join(here, '../fixtures/heat/heat.ts'), 'utf8'), { fileName: 'fixtures/heat/heat.ts', format: 'js', strategy: strategy === 'analysis' ? undefined : strategy });
const { heat, heat_b } = loadGenerated(r.code, runtime);
const u0 = Float64Array.from({ length: n }, (_, i) => Math.sin((Math.PI * i) / (n - 1)));
const seed = Float64Array.from({ length: n }, (_, i) => Math.cos(i / 97));
const time = (f) => { const t0 = performance.now(); const v = f(); return [performance.now() - t0, v]; };

const [primalMs] = time(() => heat(u0.slice(), new Float64Array(n), kappa, n, T));
const ref = { u: u0.slice(), ub: seed.slice(), tmp: new Float64Array(n), tmpb: new Float64Array(n) };
const [storeAllMs, { kappab: refKappab }] = time(() => heat_b(ref.u, ref.ub, ref.tmp, ref.tmpb, kappa, n, T));
const stateMB = (2 * n * 8) / 2 ** 20;
const rows = [];
for (const c of SLOTS) {
  const u = u0.slice(), tmp = new Float64Array(n), ub = seed.slice(), tmpb = new Float64Array(n);
  let kappab = 0;
  const [planMs, schedule] = time(() => runtime.checkpointSchedule(T, c));
  const [ms, stats] = time(() => runtime.runCheckpointed(schedule, {
    ...runtime.arraySlots([u, tmp]),
    forward: () => heat(u, tmp, kappa, n, 1),
    reverse: () => void (kappab += heat_b(u, ub, tmp, tmpb, kappa, n, 1).kappab),
  }));
  let err = Math.abs(kappab - refKappab) / Math.abs(refKappab);
  for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(ub[i] - ref.ub[i]) / (1 + Math.abs(ref.ub[i])));
  if (!(err <= 1e-10)) throw new Error(`checkpointed adjoint (c = ${c}) differs from store-all: ${err}`);
  rows.push({ c, ms, planMs, forward: stats.forwardSteps, recomputed: stats.recomputed, peakMB: stats.peakSlots * stateMB });
}
console.log(`parad bench:checkpoint (node ${process.version}): heat equation n = ${n}, T = ${T}, adjoint strategy ${strategy}; one state (u, tmp) = ${stateMB.toFixed(2)} MB`);
console.log(`primal ${primalMs.toFixed(0)} ms; store-all heat_b ${storeAllMs.toFixed(0)} ms = ${(storeAllMs / primalMs).toFixed(2)}× the primal (goal <= 3), tape ${(T * n * 8 / 2 ** 20).toFixed(0)} MB`);
console.log('slots c   forward steps   recomputed   adjoint ms   adjoint/primal   peak stored MB   plan ms');
for (const x of rows) {
  const goal = x.c === 10 ? (x.ms / primalMs <= 6 ? ' ok (goal <= 6)' : ' MISS (goal <= 6)') : '';
  console.log(`${String(x.c).padStart(7)}   ${String(x.forward).padStart(13)}   ${String(x.recomputed).padStart(10)}   ${x.ms.toFixed(0).padStart(10)}   ${(x.ms / primalMs).toFixed(2).padStart(14)}${goal}   ${x.peakMB.toFixed(1).padStart(14)}   ${x.planMs.toFixed(1).padStart(7)}`);
}

// the plot: adjoint time (left axis) and stored memory (right axis) against c, log scale in c
const W = 640, H = 360, L = 60, R = 60, Tp = 30, B = 50;
const xs = (c) => L + ((Math.log(c) - Math.log(SLOTS[0])) / (Math.log(SLOTS.at(-1)) - Math.log(SLOTS[0]))) * (W - L - R);
const maxMs = Math.max(...rows.map((x) => x.ms), storeAllMs) * 1.1, maxMB = Math.max(...rows.map((x) => x.peakMB)) * 1.1;
const yMs = (v) => H - B - (v / maxMs) * (H - B - Tp), yMB = (v) => H - B - (v / maxMB) * (H - B - Tp);
const line = (pts, color) => `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`;
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle">heat equation n=${n}, T=${T}: checkpointed adjoint vs slots c</text>
<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${Tp}" x2="${L}" y2="${H - B}" stroke="black"/><line x1="${W - R}" y1="${Tp}" x2="${W - R}" y2="${H - B}" stroke="black"/>
${rows.map((x) => `<text x="${xs(x.c)}" y="${H - B + 16}" text-anchor="middle">${x.c}</text>`).join('\n')}
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">slots c (log scale)</text>
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" fill="#2060c0">adjoint ms (max ${maxMs.toFixed(0)})</text>
<text x="${W - 14}" y="${H / 2}" transform="rotate(90 ${W - 14} ${H / 2})" text-anchor="middle" fill="#c04020">stored MB (max ${maxMB.toFixed(0)})</text>
${line(rows.map((x) => [xs(x.c), yMs(x.ms)]), '#2060c0')}
${line(rows.map((x) => [xs(x.c), yMB(x.peakMB)]), '#c04020')}
<line x1="${L}" y1="${yMs(storeAllMs)}" x2="${W - R}" y2="${yMs(storeAllMs)}" stroke="#2060c0" stroke-dasharray="4 4"/>
<text x="${W - R - 4}" y="${yMs(storeAllMs) - 4}" text-anchor="end" fill="#2060c0">store-all ${storeAllMs.toFixed(0)} ms (${(T * n * 8 / 2 ** 20).toFixed(0)} MB tape)</text>
</svg>
`;
fs.mkdirSync(path.join(here, 'out'), { recursive: true });
fs.writeFileSync(path.join(here, 'out/checkpoint.svg'), svg);
console.log('plot: bench/out/checkpoint.svg');
