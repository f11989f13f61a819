/** The generated golden modules (and their inputs) type-check under `strict`, importing `parad`. */
import { expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';

test('fixtures/*/*.ad.ts type-check with tsc --strict', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const project = path.resolve(import.meta.dirname, 'fixtures.tsconfig.json');
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? e);
  }
  expect(output).toBe('');
});

test("32-bit layer modules with target wgsl (the layers' WebGPU factories included) type-check with tsc --strict", async () => {
  const { compile } = await import('../transformer/index.js');
  const { imports32, to32 } = await import('./support/fixtures32.js');
  const fs = await import('node:fs');
  const root = path.resolve(import.meta.dirname, '..');
  const dir = path.join(root, '.tmp', `typecheck-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  try {
    for (const name of ['timestep', 'mlp', 'cnn']) {
      const r = await compile(to32(fs.readFileSync(path.join(root, 'fixtures', name, `${name}.ts`), 'utf8')), {
        fileName: `${name}.ts`,
        targets: ['ts', 'wgsl'],
        resolveImport: imports32(name),
      });
      expect(r.code, name).toMatch(/^ {2}layers: \{/m);
      fs.writeFileSync(path.join(dir, `${name}.ad.ts`), r.code!);
    }
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        include: ['*.ad.ts'],
      }),
    );
    let output = '';
    try {
      execFileSync(
        process.execPath,
        [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', path.join(dir, 'tsconfig.json')],
        { encoding: 'utf8' },
      );
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe('');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
