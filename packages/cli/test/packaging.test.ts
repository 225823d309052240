/**
 * The packages as a user gets them. Each package is packed with pnpm (workspace:* becomes the
 * version, publishConfig serves dist/), the tarballs are installed with npm into a plain Node.js
 * project (no TypeScript, no tsx), and:
 * - an ES module there writes its own model with the DSL, traces, compiles, runs it on tfjs's cpu
 *   backend, exports ONNX bytes and a file, and round-trips safetensors; a catalog model runs too;
 * - the packed CLI's `tessera` bin (the built dist/cli.js) lists, prints its version and usages, and
 *   runs a model file in a bare folder outside the project (TypeScript, importing @tessera/graph-dsl);
 * - esbuild bundles graph-dsl + compiler + runtime-tfjs for the browser platform, which fails on
 *   any Node built-in.
 * Needs the built packages (`pnpm build`; the turbo test task builds first).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../src/cli-testing.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PACKAGES = ['graph-dsl', 'compiler', 'runtime-tfjs', 'safetensors', 'models', 'cli'];
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }).version;

const work = mkdtempSync(path.join(tmpdir(), 'tessera-pack-'));
const tarballs = path.join(work, 'tarballs');
const project = path.join(work, 'project');
const timings: string[] = [];

/** pnpm as the test was started (turbo runs `pnpm run test`), else through npx. */
function pnpmCommand(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm/.test(path.basename(execpath)) && /\.c?js$/.test(execpath)) return [process.execPath, [execpath]];
  return ['npx', ['--yes', 'pnpm@10.34.9']];
}

/** A step of the set-up: its output, or an error with the output when it fails. */
async function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  const r = await runProcess(command, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });
  const out = r.stdout + r.stderr;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${out}`);
  return out;
}

async function timed<T>(what: string, f: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await f();
  timings.push(`${what} ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

/** The installed bin, run as a user's shell would (its #! line, node on the PATH). */
function tessera(...argv: string[]) {
  return runProcess(path.join(project, 'node_modules/.bin/tessera'), argv, { cwd: project });
}

beforeAll(async () => {
  for (const p of PACKAGES) {
    if (!existsSync(path.join(ROOT, 'packages', p, 'dist/index.js')) && !existsSync(path.join(ROOT, 'packages', p, 'dist/cli.js'))) {
      throw new Error(`packages/${p}/dist is missing: run \`npx pnpm@10.34.9 build\` first`);
    }
  }
  mkdirSync(tarballs);
  mkdirSync(project);
  const [pnpm, pre] = pnpmCommand();
  await timed('pnpm pack (6 packages)', () => Promise.all(PACKAGES.map((p) => run(pnpm, [...pre, 'pack', '--pack-destination', tarballs], path.join(ROOT, 'packages', p)))));
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  const files = readdirSync(tarballs).map((f) => path.join(tarballs, f));
  expect(files).toHaveLength(PACKAGES.length);
  // optional dependencies (tfjs-node, onnxruntime-node) are left out: their install scripts download native code
  await timed('npm install', () => run('npm', ['install', '--prefer-offline', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', ...files], project));
  // tsx's esbuild finds its binary in an optional package, which --omit=optional left out: add this platform's alone
  const esbuild = (JSON.parse(readFileSync(path.join(project, 'node_modules/esbuild/package.json'), 'utf8')) as { version: string }).version;
  await timed('npm install esbuild binary', () => run('npm', ['install', '--no-save', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', `@esbuild/${process.platform}-${process.arch}@${esbuild}`], project));
}, 600_000);

afterAll(() => {
  console.log(`packaging: ${timings.join(', ')}`);
  rmSync(work, { recursive: true, force: true });
});

describe('the packed packages in a plain Node.js project', () => {
  it('ship built JavaScript with types, and real versions for workspace:* dependencies', () => {
    for (const p of ['graph-dsl', 'compiler', 'runtime-tfjs', 'safetensors', 'models']) {
      const dir = path.join(project, 'node_modules/@tessera', p);
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { exports: Record<string, { default: string; types: string }>; dependencies?: Record<string, string> };
      expect(existsSync(path.join(dir, 'src')), `${p} ships no sources`).toBe(false);
      for (const entry of Object.values(manifest.exports)) {
        expect(existsSync(path.join(dir, entry.default)), `${p} ${entry.default}`).toBe(true);
        expect(existsSync(path.join(dir, entry.types)), `${p} ${entry.types}`).toBe(true);
      }
      for (const [name, range] of Object.entries(manifest.dependencies ?? {})) expect(range, `${p} -> ${name}`).not.toMatch(/^workspace:/);
    }
  });

  it('import from plain ES modules: a model of the user\'s own is traced, compiled, run on tfjs (cpu) and exported', async () => {
    writeFileSync(
      path.join(project, 'user-model.mjs'),
      `import { Module, nn, trace, initialWeights, hostTensor, maxAbsDiff } from '@tessera/graph-dsl';
import { writeFileAtomic } from '@tessera/graph-dsl/node';
import { compile, exportOnnx } from '@tessera/compiler';
import { exportOnnxFiles } from '@tessera/compiler/node';
import { initBackend, Session } from '@tessera/runtime-tfjs';
import { encodeSafetensors, decodeSafetensors, readSafetensorsFile } from '@tessera/safetensors';
import { buildModel } from '@tessera/models';
import { existsSync, statSync } from 'node:fs';

class Mlp extends Module {
  constructor() {
    super();
    this.fc1 = new nn.Linear(4, 8);
    this.fc2 = new nn.Linear(8, 3);
  }
  forward(x) {
    return { y: this.fc2.forward(this.fc1.forward(x).relu()) };
  }
}

const graph = compile(trace(new Mlp(), { x: { dtype: 'float32', shape: ['B', 4] } })).graph;
const weights = initialWeights(graph, 1);
const x = hostTensor('float32', [2, 4], [1, -2, 3, 0.5, -1, 0, 2, 4]);
const backend = await initBackend('cpu');
const session = await Session.create(graph, { weights });
const { y } = await session.run({ x });
session.dispose();

// the same MLP by hand
const w = (name) => weights.get(name).data;
const expected = hostTensor('float32', [2, 3]);
for (let b = 0; b < 2; b++) {
  const h = Array.from({ length: 8 }, (_, j) => Math.max(0, w('fc1.bias')[j] + [0, 1, 2, 3].reduce((s, i) => s + w('fc1.weight')[j * 4 + i] * x.data[b * 4 + i], 0)));
  for (let k = 0; k < 3; k++) expected.data[b * 3 + k] = w('fc2.bias')[k] + h.reduce((s, v, j) => s + w('fc2.weight')[k * 8 + j] * v, 0);
}

const onnx = exportOnnx(graph, { weights });
const files = await exportOnnxFiles(graph, { weights, path: 'mlp.onnx' });
writeFileAtomic('weights.safetensors', encodeSafetensors(weights));
const back = readSafetensorsFile('weights.safetensors').tensors;
const same = decodeSafetensors(encodeSafetensors(weights)).tensors.get('fc2.weight').data.every((v, i) => v === w('fc2.weight')[i]);

const mha = buildModel('torch_multihead_attention', ['embed_dim=8', 'num_heads=2', 'batch_first=true']).built;
const mhaGraph = compile(trace(mha.module, mha.inputs, mha.outputs)).graph;
const mhaSession = await Session.create(mhaGraph, { seed: 3 });
const q = hostTensor('float32', [1, 5, 8], Array.from({ length: 40 }, (_, i) => Math.sin(i)));
const mhaOut = await mhaSession.run({ query: q, key: q, value: q });

console.log(JSON.stringify({
  backend,
  shape: y.shape,
  diff: maxAbsDiff(y, expected),
  onnxBytes: onnx.length,
  onnxMagic: onnx[0],
  fileBytes: statSync(files.modelPath).size,
  safetensors: back.size,
  same,
  mha: Object.fromEntries(Object.entries(mhaOut).map(([k, t]) => [k, t.shape])),
}));
`,
    );
    const r = await runProcess(process.execPath, ['user-model.mjs'], { cwd: project });
    expect(r.stderr + r.stdout).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result.backend).toBe('cpu');
    expect(result.shape).toEqual([2, 3]);
    expect(result.diff as number).toBeLessThan(1e-5);
    expect(result.onnxBytes as number).toBeGreaterThan(100);
    expect(result.onnxMagic).toBe(0x08); // ModelProto field 1 (ir_version), varint
    expect(result.fileBytes).toBe(result.onnxBytes);
    expect(result.safetensors).toBe(4);
    expect(result.same).toBe(true);
    expect(result.mha).toEqual({ output: [1, 5, 8], attn_weights: [1, 5, 5] });
  }, 120_000);

  it('bundle for the browser with esbuild: graph-dsl, compiler and runtime-tfjs import no Node built-in', async () => {
    writeFileSync(
      path.join(project, 'browser-entry.mjs'),
      `import { Module, nn, trace } from '@tessera/graph-dsl';
import { compile, exportOnnx } from '@tessera/compiler';
import { initBackend, Session } from '@tessera/runtime-tfjs';
class Tiny extends Module { constructor() { super(); this.fc = new nn.Linear(4, 2); } forward(x) { return this.fc.forward(x); } }
export async function main() {
  const graph = compile(trace(new Tiny(), { x: { dtype: 'float32', shape: ['B', 4] } })).graph;
  await initBackend('auto');
  return { session: await Session.create(graph), onnx: exportOnnx };
}
`,
    );
    const result = await timed('esbuild (browser)', () =>
      build({ entryPoints: [path.join(project, 'browser-entry.mjs')], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent', absWorkingDir: project, outfile: 'out/bundle.js' }),
    );
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((f) => f.startsWith('node:') || f.includes('onnxruntime') || f.includes('tfjs-node'))).toEqual([]);
    expect(inputs.some((f) => f.includes('@tessera/runtime-tfjs/dist/platform/browser.js'))).toBe(true);
    expect(inputs.some((f) => f.includes('platform/node.js'))).toBe(false);
  }, 120_000);
});

describe('the packed CLI', () => {
  it('npx tessera list', async () => {
    const out = await run('npx', ['--no-install', 'tessera', 'list'], project);
    expect(out).toMatch(/^masked_softmax /m);
    expect(out).toMatch(/^torch_multihead_attention /m);
  }, 60_000);

  it('is built JavaScript: the bin is dist/cli.js', () => {
    const manifest = JSON.parse(readFileSync(path.join(project, 'node_modules/@tessera/cli/package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(path.normalize(manifest.bin.tessera!)).toBe('dist/cli.js');
    expect(readFileSync(path.join(project, 'node_modules/@tessera/cli/dist/cli.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('--version prints the version', async () => {
    const r = await tessera('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
  });

  it('every command prints its usage on --help; -h and `tessera help COMMAND` too (all forms in-process: src/help.test.ts)', async () => {
    const usage = async (command: string, ...argv: string[]) => {
      const r = await tessera(...argv);
      expect(r.stderr, argv.join(' ')).toBe('');
      expect(r.status, argv.join(' ')).toBe(0);
      expect(r.stdout, argv.join(' ')).toMatch(new RegExp(`^usage: tessera ${command}\\n  ${command} `));
    };
    for (const command of ['list', 'summary', 'compile', 'export', 'run', 'bench', 'train', 'translate', 'help']) await usage(command, command, '--help');
    await usage('run', 'run', '-h');
    await usage('run', 'help', 'run');
    const whole = await tessera('--help');
    expect(whole.status).toBe(0);
    expect(whole.stdout).toMatch(/^usage: tessera <command>\n/);
    const unknown = await tessera('help', 'frobnicate');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^error: unknown command 'frobnicate'/);
  }, 60_000);

  it('takes a model file in a bare folder outside the project: its TypeScript loads, its @tessera/graph-dsl is the CLI\'s', async () => {
    const bare = path.join(work, 'bare');
    mkdirSync(bare);
    writeFileSync(
      path.join(bare, 'block.ts'),
      `import { Module, nn, type Tensor } from '@tessera/graph-dsl';
export default class Block extends Module {
  readonly norm = new nn.LayerNorm(8);
  readonly fc = new nn.Linear(8, 8);
  forward(x: Tensor<'float32', 3>) {
    return x.add(this.fc.forward(this.norm.forward(x)));
  }
}
export const inputs = { x: { dtype: 'float32', shape: ['B', 'T', 8] } };
`,
    );
    writeFileSync(
      path.join(bare, 'wrong.ts'),
      `import { Module, nn, type Tensor } from '@tessera/graph-dsl';
export default class extends Module {
  readonly fc = new nn.Linear(4, 8);
  forward(x: Tensor<'float32', 2>) {
    return this.fc.forward(x);
  }
}
export const inputs = { x: { dtype: 'float32', shape: ['B', 8] } };
`,
    );
    const bin = path.join(project, 'node_modules/.bin/tessera');
    const summary = await runProcess(bin, ['summary', './block.ts', '--json'], { cwd: bare });
    expect(summary.stderr).toBe('');
    expect(summary.status).toBe(0);
    expect(JSON.parse(summary.stdout)).toMatchObject({ model: './block.ts', inputs: { x: 'f32[B, T, 8]' }, parameters: 8 * 8 + 3 * 8 });
    const exported = await runProcess(bin, ['export', 'block.ts', '--onnx', 'block.onnx'], { cwd: bare });
    expect(exported.stderr).toBe('');
    expect(exported.status).toBe(0);
    expect(existsSync(path.join(bare, 'block.onnx'))).toBe(true);
    const wrong = await runProcess(bin, ['compile', './wrong.ts'], { cwd: bare });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^error: MatMul: the last dim of a \(8\) must equal the second-to-last dim of b \(4\); .* at wrong\.ts:5:20 in fc\n$/);
  }, 60_000);

  it('resolves paths on the command line against the caller\'s directory', async () => {
    const sub = path.join(project, 'sub');
    mkdirSync(sub, { recursive: true });
    const r = await runProcess(path.join(project, 'node_modules/.bin/tessera'), ['export', 'masked_softmax', '--onnx', 'm.onnx'], { cwd: sub });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    expect(existsSync(path.join(sub, 'm.onnx'))).toBe(true);
  }, 60_000);
});
