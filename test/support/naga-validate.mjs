// Validates WGSL shaders with a second compiler: naga, through Deno's WebGPU (wgpu), here over
// Mesa's lavapipe Vulkan driver. Reads [{ fn, pass, code }] from the JSON file given, prints
// { adapter, results: [{ fn, pass, errors }] }. Run by test/wgsl.test.ts:
//   deno run --allow-read test/support/naga-validate.mjs shaders.json
const shaders = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const adapter = await navigator.gpu.requestAdapter();
if (!adapter) {
  console.log(JSON.stringify({ adapter: null, results: [] }));
  Deno.exit(0);
}
const device = await adapter.requestDevice();
const results = [];
for (const s of shaders) {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: s.code });
  const info = await module.getCompilationInfo();
  const scoped = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === 'error').map((m) => m.message);
  if (scoped && !errors.length) errors.push(scoped.message);
  results.push({ fn: s.fn, pass: s.pass, errors });
}
console.log(JSON.stringify({ adapter: `${adapter.info.vendor} ${adapter.info.description}`.trim(), results }));
