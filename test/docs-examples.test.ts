/**
 * The Node example of docs/wgsl.md runs as written: its kernel file and script are taken from the
 * page, its `npx parad …` and `node …` commands are run (parad's own bin, in a folder under .tmp/
 * inside the repository so that `parad/runtime` resolves to dist/ by self-reference), on dawn.node
 * over SwiftShader like test/wgsl.test.ts. Without SwiftShader it is skipped with the reason, except
 * under CI=true, where it is required.
 */
import { afterAll, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const SWIFTSHADER = process.env.PARAD_VK_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
const dir = path.join(root, '.tmp', `docs-examples-${process.pid}`);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The code blocks of a page section: `{ file: text }` for blocks whose first line is `// <file>`, and the sh lines. */
function examples(page: string, heading: string): { files: Record<string, string>; commands: string[] } {
  const text = fs.readFileSync(path.join(root, 'docs', page), 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `${page} has a section '${heading}'`).toBeGreaterThan(0);
  const section = text.slice(start + heading.length + 2).split(/\n#{1,3} /)[0];
  const files: Record<string, string> = {};
  const commands: string[] = [];
  for (const m of section.matchAll(/```(\w+)\n([\s\S]*?)```/g)) {
    const [, lang, body] = m;
    if (lang === 'sh')
      commands.push(
        ...body
          .split('\n')
          .map((l) => l.replace(/\s+#.*$/, '').trim())
          .filter(Boolean),
      );
    const name = /^\/\/ (\S+)\n/.exec(body);
    if (name) files[name[1]] = body;
  }
  return { files, commands };
}

test('docs/wgsl.md: the Node example runs as written on dawn.node', (ctx) => {
  const { files, commands } = examples('wgsl.md', '### In Node');
  expect(Object.keys(files).sort()).toEqual(['run.mjs', 'scale.ts']);
  expect(commands).toEqual([
    'npm install webgpu',
    'npx parad transpile scale.ts --out out --target ts,wgsl --format js',
    'node run.mjs',
  ]);
  if (!fs.existsSync(SWIFTSHADER)) {
    if (process.env.CI === 'true') expect.fail(`no SwiftShader at ${SWIFTSHADER}: apt-get install chromium libvulkan1`);
    ctx.skip(`no SwiftShader at ${SWIFTSHADER} (apt-get install chromium libvulkan1) to run WebGPU on the CPU`);
  }
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const env = { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? dir };
  let output = '';
  for (const command of commands) {
    const [tool, ...args] = command.split(/\s+/);
    if (tool === 'npm') continue; // the test runs with the repository's own dependencies
    const argv = tool === 'npx' && args[0] === 'parad' ? [path.join(root, 'bin/parad.js'), ...args.slice(1)] : args;
    expect(tool === 'npx' || tool === 'node', command).toBe(true);
    const r = spawnSync(process.execPath, argv, { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, `${command}\n${r.stdout}\n${r.stderr}`).toBe(0);
    output = r.stdout;
  }
  const m = /y\[500\] = (\S+), xb\[500\] = (\S+), ab = (\S+)/.exec(output);
  expect(m, output).not.toBeNull();
  const [y, xb, ab] = m!.slice(1).map(Number);
  let sum = 0;
  for (let i = 0; i < 1000; i++) sum += Math.sin(i / 1000);
  expect(Math.abs(y - 2 * Math.sin(0.5))).toBeLessThan(1e-4);
  expect(Math.abs(xb - 2 * Math.cos(0.5))).toBeLessThan(1e-4);
  expect(Math.abs(ab - sum) / sum).toBeLessThan(1e-4);
}, 180_000);
