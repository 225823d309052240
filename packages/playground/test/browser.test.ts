/**
 * The built page in Debian's Chromium (playwright-core drives /usr/bin/chromium): the automation
 * contract runs MHA, the Transformers, ViT and Swin at the catalog's small configs, and each output
 * agrees with `tessera run NAME --random-inputs S` in Node within 1e-4; the fusion counts are those
 * of `tessera compile NAME --explain`; an error is the CLI's text. Screenshots go to artifacts/.
 * Needs the built page (`pnpm build`; the turbo test task builds first); builds it when missing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '@tessera/cli';
import { humanCount, ONNX_TARGETS, readableFlops, type Summary } from '@tessera/compiler';
import { hostTensor, initialWeights, seededRandom, trace } from '@tessera/graph-dsl';
import { buildModel, CATALOG, configWords } from '@tessera/models';
import { decodeSafetensors, readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { runProcess } from '../../cli/src/cli-testing.ts';
import { decodeImage } from '../../cli/src/commands/image.ts';
import { blockMap } from '../src/attention-map.ts';
import { type RunResult, summarizeOutputs } from '../src/contract.ts';
import { classify, compileModel } from '../src/pipeline.ts';

const PACKAGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(PACKAGE, 'dist');
const ARTIFACTS = path.join(PACKAGE, 'artifacts');
const CHROMIUM = '/usr/bin/chromium';
const TOLERANCE = 1e-4;
/** A torchvision-checked fixture of the CLI's image tests. */
const IMAGE = path.join(PACKAGE, '../cli/fixtures/crop_4x3.png');
/** The source editor's first text, and the CLI that runs the same file. */
const EXAMPLE = path.join(PACKAGE, '../../examples/prenorm-block/block.ts');
const BIN = path.join(PACKAGE, '../cli/bin/tessera.mjs');
const CASES = ['torch_multihead_attention', 'transformer', 'torch_transformer', 'vit_b_16', 'swin_t'];

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };

/** dist/ over http on 127.0.0.1 (a file: URL would not fetch the wasm binaries). */
function serve(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(root) || !existsSync(file) || file.endsWith('/')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The CLI in-process: its output, or the message of the user error it prints after `error: `. */
async function tessera(...argv: string[]): Promise<{ out?: string; error?: string }> {
  try {
    return { out: await main(argv, () => {}) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** `tessera compile --explain`'s counts: the lines under `fusions:`. */
function explainedCounts(text: string): Record<string, number> {
  const lines = text.split('\n');
  const start = lines.indexOf('fusions:');
  const rows = lines.slice(start + 1).filter((l) => /^ {2}\S+\s+\d+$/.test(l));
  return Object.fromEntries(rows.map((l) => l.trim().split(/\s+/)).map(([rule, n]) => [rule!, Number(n)]));
}

const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium; scripts/setup.sh does as root)`;
if (missing && process.env.CI) throw new Error(`the playground's browser test needs Chromium in CI: ${missing}`);
if (missing) console.warn(`skipping the playground's browser test: ${missing}`);

describe.skipIf(missing !== undefined)('the playground in Chromium', () => {
  let server: Server;
  let context: BrowserContext;
  let base: string;
  const profile = mkdtempSync(path.join(tmpdir(), 'tessera-chromium-'));
  const work = mkdtempSync(path.join(tmpdir(), 'tessera-playground-'));

  beforeAll(async () => {
    if (!existsSync(path.join(DIST, 'index.html'))) await build({ root: PACKAGE, logLevel: 'warn' });
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await serve(DIST);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`;
    context = await chromium.launchPersistentContext(profile, {
      acceptDownloads: true,
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1200, height: 1400 },
    });
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    server?.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  /** Opens the page at a query and waits for #result; page errors become the test's failure. */
  async function contract(query: string, shot: string): Promise<{ page: Page; result: RunResult | { error: string } }> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}${query}`);
    await page.waitForFunction(() => document.getElementById('result')!.textContent !== '', undefined, { timeout: 240_000 }).catch((e: Error) => {
      throw new Error(`${e.message}\nstatus: ${problems.join('; ')}`);
    });
    await page.screenshot({ path: path.join(ARTIFACTS, `${shot}.png`), fullPage: true });
    expect(problems).toEqual([]);
    return { page, result: JSON.parse((await page.textContent('#result'))!) };
  }

  CASES.forEach((name, i) => {
    it(`${name} (small) agrees with tessera run --random-inputs in Node within ${TOLERANCE}`, async () => {
      const words = configWords(CATALOG.find((e) => e.name === name)!.small);
      const seed = 11 + i;
      const { page, result } = await contract(`?model=${name}&config=${encodeURIComponent(words.join(';'))}&seed=${seed}&run=1`, `run-${name}`);
      await page.close();
      if ('error' in result) throw new Error(`the page reports an error: ${result.error}`);

      const file = path.join(work, `${name}.safetensors`);
      const ran = await tessera('run', name, '--config', ...words, '--random-inputs', String(seed), '--output', file);
      expect(ran.error).toBeUndefined();
      const node = summarizeOutputs(Object.fromEntries(readSafetensorsFile(file).tensors));
      expect(result.model).toBe(name);
      expect(result.backend).toMatch(/^(wasm|cpu)$/);
      expect(Object.keys(result.outputs).sort()).toEqual(Object.keys(node).sort());
      for (const [output, want] of Object.entries(node)) {
        const got = result.outputs[output]!;
        expect(got.shape, output).toEqual(want.shape);
        expect(Math.abs(got.sum - want.sum), `${output} sum ${got.sum} vs ${want.sum}`).toBeLessThanOrEqual(TOLERANCE * Math.max(1, Math.abs(want.sum)));
        got.first.forEach((v, k) => expect(Math.abs(v - want.first[k]!), `${output}[${k}]`).toBeLessThanOrEqual(TOLERANCE));
      }

      const { out } = await tessera('compile', name, '--config', ...words, '--explain');
      expect(result.fusions).toEqual(explainedCounts(out!));
      expect(result.fusions.attention).toBeGreaterThan(0);
    }, 300_000);
  });

  it('draws the graph after and before the passes: boxes on screen with op, type and module path', async () => {
    const { page } = await contract(`?model=swin_t&config=${encodeURIComponent(configWords(CATALOG.find((e) => e.name === 'swin_t')!.small).join(';'))}`, 'compile-swin_t');
    const boxes = async () => {
      await page.waitForFunction(() => !document.getElementById('status')!.classList.contains('busy'));
      return page.$$eval('#graph .box', (gs) => {
        const svg = document.getElementById('graph')!.getBoundingClientRect();
        return gs.map((g) => {
          const r = g.getBoundingClientRect();
          return { kind: g.classList[1], text: [...g.querySelectorAll('text')].map((t) => t.textContent), inside: r.width > 0 && r.height > 0 && r.right > svg.left && r.left < svg.right && r.bottom > svg.top && r.top < svg.bottom };
        });
      });
    };
    // the summary is tessera summary's, layer by layer
    const words = configWords(CATALOG.find((e) => e.name === 'swin_t')!.small);
    const cli = JSON.parse((await tessera('summary', 'swin_t', '--config', ...words, '--json')).out!) as Summary;
    const rows = await page.$$eval('#summary tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual(cli.layers.map((l) => [l.path || '(model)', l.type, l.output ?? '', humanCount(l.parameters), readableFlops(l.flops)]));
    expect(await page.textContent('#summary-totals')).toContain(`${cli.parameters.toLocaleString('en-US')} parameters`);
    const compiled = await boxes();
    expect(compiled.filter((b) => b.inside).length).toBeGreaterThan(10);
    expect(compiled.some((b) => b.text[0] === 'Attention' && /^f32\[/.test(b.text[1]!) && /^features\.\d\.\d\.attn · swin\.ts:\d+$/.test(b.text[2]!))).toBe(true);
    // each box's module path and source line (the build's source map read back) are those of the same node compiled in Node
    const where = (s: { scope: string; file: string; line: number } | undefined) => (s ? [s.scope, `${s.file.split('/').at(-1)}:${s.line}`].filter((t) => t !== '').join(' · ') : '');
    const node = compileModel('swin_t', words).graph.nodes;
    expect(compiled.filter((b) => b.kind === 'op').map((b) => b.text[2] ?? '')).toEqual(node.map((n) => where(n.source)));
    expect(await page.$$eval('#graph .edge', (es) => es.length)).toBeGreaterThan(10);
    await page.locator('#graph-section').screenshot({ path: path.join(ARTIFACTS, 'graph-swin_t-compiled.png') });
    await page.check('input[name=stage][value=traced]');
    const traced = await boxes();
    expect(traced.length).toBeGreaterThan(compiled.length);
    expect(traced.some((b) => b.text[0] === 'Attention')).toBe(false);
    await page.locator('#graph-section').screenshot({ path: path.join(ARTIFACTS, 'graph-swin_t-traced.png') });
    await page.close();
  }, 300_000);

  it("names a catalog model's lines as the CLI run from the repository's root does: --explain's near-matches", async () => {
    const { page } = await contract('?model=additive_attention', 'explain-additive_attention');
    const nearMatches = (text: string) => text.split('\n').filter((l) => l.includes(': near-match at '));
    const shown = nearMatches((await page.textContent('#explain'))!);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.join('\n')).toMatch(/ \(packages\/models\/src\/attention\/additive-attention\.ts:\d+:\d+\): /);
    // the CLI here runs in packages/playground
    const { out } = await tessera('compile', 'additive_attention', '--explain');
    expect(shown).toEqual(nearMatches(out!).map((l) => l.replaceAll('../models/src/', 'packages/models/src/')));
    await page.close();
  }, 300_000);

  it("downloads each target's ONNX file as tessera export writes it, and the weights as safetensors", async () => {
    const words = configWords(CATALOG.find((e) => e.name === 'swin_t')!.small);
    const { page } = await contract(`?model=swin_t&config=${encodeURIComponent(words.join(';'))}`, 'export-swin_t');
    const saved = async (button: string) => {
      const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      return { name: file.suggestedFilename(), bytes: readFileSync((await file.path())!) };
    };
    for (const target of ONNX_TARGETS) {
      const onnx = path.join(work, `swin_t.${target}.onnx`);
      const exported = await tessera('export', 'swin_t', '--config', ...words, '--target', target, '--onnx', onnx);
      expect(exported.error).toBeUndefined();
      const got = await saved(`#export-${target}`);
      expect(got.name).toBe(`swin_t.${target}.onnx`);
      expect(got.bytes.equals(readFileSync(onnx)), target).toBe(true);
    }
    const weights = decodeSafetensors((await saved('#export-weights')).bytes).tensors;
    const { built } = buildModel('swin_t', words);
    const expected = initialWeights(trace(built.module, built.inputs, built.outputs), 0);
    expect([...weights.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, t] of expected) expect(Array.from(weights.get(key)!.data), key).toEqual(Array.from(t.data));
    await page.close();
  }, 300_000);

  it('runs on weights from a picked .safetensors file as tessera run --weights does, and refuses a misfit file with its error', async () => {
    const words = ['embed_dim=16', 'num_heads=4', 'batch_first=true'];
    const { built } = buildModel('torch_multihead_attention', words);
    const weights = path.join(work, 'mha.safetensors');
    writeSafetensorsFile(weights, initialWeights(trace(built.module, built.inputs, built.outputs), 7));
    const { page } = await contract(`?model=torch_multihead_attention&config=${encodeURIComponent(words.join(';'))}&seed=3`, 'weights-mha');
    const resultAfter = async (file: string) => {
      await page.setInputFiles('#weights', file);
      await page.click('#run');
      await page.waitForFunction(() => document.getElementById('result')!.textContent !== '');
      return JSON.parse((await page.textContent('#result'))!) as RunResult | { error: string };
    };
    const result = await resultAfter(weights);
    if ('error' in result) throw new Error(`the page reports an error: ${result.error}`);
    const out = path.join(work, 'mha-weights-out.safetensors');
    expect((await tessera('run', 'torch_multihead_attention', '--config', ...words, '--weights', weights, '--random-inputs', '3', '--output', out)).error).toBeUndefined();
    const node = summarizeOutputs(Object.fromEntries(readSafetensorsFile(out).tensors));
    for (const [output, want] of Object.entries(node)) {
      result.outputs[output]!.first.forEach((v, k) => expect(Math.abs(v - want.first[k]!), `${output}[${k}]`).toBeLessThanOrEqual(TOLERANCE));
    }
    // different weights, different numbers: the file was used
    const initial = path.join(work, 'mha-initial-out.safetensors');
    await tessera('run', 'torch_multihead_attention', '--config', ...words, '--random-inputs', '3', '--output', initial);
    expect(readSafetensorsFile(initial).tensors.get('output')!.data[0]).not.toBeCloseTo(result.outputs.output!.first[0]!, 4);

    const other = path.join(work, 'mha-other.safetensors');
    const { built: narrower } = buildModel('torch_multihead_attention', ['embed_dim=8', 'num_heads=4']);
    writeSafetensorsFile(other, initialWeights(trace(narrower.module, narrower.inputs, narrower.outputs), 7));
    const refused = await resultAfter(other);
    const { error } = await tessera('run', 'torch_multihead_attention', '--config', ...words, '--weights', other, '--random-inputs', '3', '--output', path.join(work, 'never.safetensors'));
    // the page names the file as picked, the CLI as given: the same path here but for the folder
    expect(refused).toEqual({ error: error!.replaceAll(`${work}/`, '') });
    await page.close();
  }, 300_000);

  /** Every weight random, in a file to pick: ViT's initial head is zeros, which gives every class the same probability whatever the image. */
  function randomWeightsFile(name: string, words: readonly string[]): string {
    const { built } = buildModel(name, words);
    const random = seededRandom(5);
    const weights = new Map([...initialWeights(trace(built.module, built.inputs, built.outputs))].map(([k, t]) => [k, hostTensor('float32', t.shape, Array.from(t.data, () => random() - 0.5))]));
    const file = path.join(work, `${name}-random.safetensors`);
    writeSafetensorsFile(file, weights);
    return file;
  }

  /** Picks the weights file and IMAGE on the page, classifies, and returns #result's top classes. */
  async function classifyOnPage(page: Page, weightsFile: string): Promise<{ top: { index: number; probability: number }[] }> {
    await page.setInputFiles('#weights', weightsFile);
    await page.setInputFiles('#image', IMAGE);
    await page.click('#classify');
    await page.waitForFunction(() => document.getElementById('result')!.textContent !== '');
    const result = JSON.parse((await page.textContent('#result'))!) as { top: { index: number; probability: number }[] } | { error: string };
    if ('error' in result) throw new Error(`the page reports an error: ${result.error}`);
    return result;
  }

  it('classifies a picked image as tessera run --image: the same top-5 classes and probabilities', async () => {
    const words = configWords(CATALOG.find((e) => e.name === 'vit_b_16')!.small);
    const { page } = await contract(`?model=vit_b_16&config=${encodeURIComponent(words.join(';'))}`, 'classify-vit');
    const weightsFile = randomWeightsFile('vit_b_16', words);
    const result = await classifyOnPage(page, weightsFile);
    await page.screenshot({ path: path.join(ARTIFACTS, 'classify-vit.png'), fullPage: true });
    const { out } = await tessera('run', 'vit_b_16', '--config', ...words, '--weights', weightsFile, '--image', IMAGE);
    const cli = [...out!.matchAll(/^\d\. +([\d.]+)% +class (\d+) \(\d+\)$/gm)].map((m) => ({ index: Number(m[2]), percent: Number(m[1]) }));
    expect(cli).toHaveLength(5);
    expect(result.top.map((r) => r.index)).toEqual(cli.map((r) => r.index));
    result.top.forEach((r, i) => expect(Math.abs(r.probability * 100 - cli[i]!.percent)).toBeLessThanOrEqual(0.006));
    expect(result.top[0]!.probability - result.top[4]!.probability, 'the classes must differ for the order to mean something').toBeGreaterThan(0.01);
    await page.close();
  }, 300_000);

  /** A small model classifies IMAGE with random weights on the page, and in Node: the same file, image decoding as tessera run --image, the page's own pipeline. */
  async function classifiedOnPageAndInNode(name: string) {
    const words = configWords(CATALOG.find((e) => e.name === name)!.small);
    const { page } = await contract(`?model=${name}&config=${encodeURIComponent(words.join(';'))}`, `attention-${name}`);
    const weightsFile = randomWeightsFile(name, words);
    const result = await classifyOnPage(page, weightsFile);
    const compiled = compileModel(name, words, { name: path.basename(weightsFile), bytes: readFileSync(weightsFile) }, { attention: true });
    return { page, result, compiled, node: await classify(compiled, decodeImage(readFileSync(IMAGE), IMAGE), IMAGE) };
  }

  it("draws the chosen ViT block's attention over the image: the values of the Node-side maps within 1e-4, from the run of the top-5", async () => {
    const { page, result, compiled, node } = await classifiedOnPageAndInNode('vit_b_16');
    expect(result.top.map((r) => r.index)).toEqual(node.top.map((r) => r.index));
    const drawn = () => page.$eval('#attention-map', (c) => {
      const canvas = c as HTMLCanvasElement;
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set<number>();
      for (let i = 0; i < pixels.length; i += 4) colours.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!);
      return { values: JSON.parse(canvas.dataset.values!) as number[], block: canvas.dataset.block, width: canvas.width, colours: colours.size, opaque: pixels.every((v, i) => i % 4 !== 3 || v === 255) };
    });
    const cases = [
      { block: 'encoder.layers.encoder_layer_0', head: '1', rollout: false, want: blockMap(compiled.attention, node.probs, 'encoder.layers.encoder_layer_0', 1) },
      { block: 'encoder.layers.encoder_layer_1', head: 'mean', rollout: true, want: blockMap(compiled.attention, node.probs, 'encoder.layers.encoder_layer_1', 'mean', true) },
    ];
    for (const c of cases) {
      await page.selectOption('#attention-block', c.block);
      await page.selectOption('#attention-head', c.head);
      await page.setChecked('#attention-rollout', c.rollout);
      const got = await drawn();
      expect(got.block).toBe(c.block);
      expect(got.values).toHaveLength(16);
      got.values.forEach((v, i) => expect(Math.abs(v - c.want.values[i]!), `${c.block} head ${c.head}${c.rollout ? ' rollout' : ''} [${i}]`).toBeLessThanOrEqual(TOLERANCE));
      // a 4x4 map blended smoothly over a 32x32 crop scaled to the canvas: many colours, no transparent pixel
      expect(got.width).toBeGreaterThanOrEqual(320);
      expect(got.colours).toBeGreaterThan(200);
      expect(got.opaque).toBe(true);
    }
    expect(await page.textContent('#attention-note')).toContain('rollout over blocks 0..1');
    await page.locator('#classify-section').screenshot({ path: path.join(ARTIFACTS, 'attention-vit.png') });
    await page.close();
  }, 300_000);

  it("draws Swin's last block as the mean attention each patch receives within its window, as in Node within 1e-4", async () => {
    const { page, result, compiled, node } = await classifiedOnPageAndInNode('swin_t');
    expect(result.top.map((r) => r.index)).toEqual(node.top.map((r) => r.index));
    const last = compiled.attention.at(-1)!.path;
    const want = blockMap(compiled.attention, node.probs, last, 'mean');
    const got = await page.$eval('#attention-map', (c) => ({ values: JSON.parse((c as HTMLCanvasElement).dataset.values!) as number[], block: (c as HTMLCanvasElement).dataset.block }));
    expect(got.block).toBe('features.3.1');
    expect(got.values).toHaveLength(want.values.length);
    got.values.forEach((v, i) => expect(Math.abs(v - want.values[i]!), `[${i}]`).toBeLessThanOrEqual(TOLERANCE));
    expect(await page.textContent('#attention-note')).toMatch(/within windows of 4x4 patches \(shifted by 2,2 in this block\)/);
    expect(await page.$$eval('#attention-block option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['features.1.0', 'features.1.1', 'features.3.0', 'features.3.1']);
    await page.locator('#classify-section').screenshot({ path: path.join(ARTIFACTS, 'attention-swin.png') });
    await page.close();
  }, 300_000);

  it("an unknown model, a bad config key and a bad seed answer {error} with the CLI's text", async () => {
    for (const [query, argv] of [
      ['?model=no_such_model&run=1', ['run', 'no_such_model']],
      ['?model=vit_b_16&config=image_size=32;hidden=8&run=1', ['run', 'vit_b_16', '--config', 'image_size=32', 'hidden=8']],
    ] as const) {
      const { page, result } = await contract(query, `error-${argv[1]}`);
      const { error } = await tessera(...argv, '--random-inputs', '0', '--output', path.join(work, 'never.safetensors'));
      expect(error).toBeDefined();
      expect(result).toEqual({ error });
      expect(await page.isVisible('#error')).toBe(true);
      await page.close();
    }
    // a seed typed in the form is checked as the URL's
    const { page } = await contract('?model=torch_multihead_attention', 'error-seed');
    await page.fill('#seed', '1.5');
    await page.click('#run');
    expect(JSON.parse((await page.textContent('#result'))!)).toEqual({ error: 'seed=1.5: expected a seed, a whole number from 0' });
    await page.close();
  }, 300_000);

  /** The editor's text written as model.ts in a folder of its own, and `tessera ARGS` run there on it (`model.ts` named as the page names it). */
  async function cliOnFile(text: string, folder: string, ...argv: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const dir = path.join(work, folder);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.ts'), text);
    return runProcess(process.execPath, [BIN, ...argv], { cwd: dir });
  }

  /** The source editor's lines that CodeMirror draws (those in and near its view). */
  const drawnLines = (page: Page) => page.$$eval('#editor .cm-line', (lines) => lines.map((l) => l.textContent ?? ''));

  /** Opens the source editor, types `text` in place of its example and presses `button`; the page's #result. */
  async function fromEditor(page: Page, text: string, button: '#source-compile' | '#source-run'): Promise<RunResult | { error: string }> {
    if (!(await page.isVisible('#editor .cm-content'))) await page.click('#edit-source');
    await page.click('#editor .cm-content');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(text);
    const drawn = await drawnLines(page);
    expect(drawn).toEqual(text.split('\n').slice(0, drawn.length));
    await page.$eval('#result', (r) => (r.textContent = ''));
    await page.click(button);
    await page.waitForFunction(() => document.getElementById('result')!.textContent !== '', undefined, { timeout: 120_000 });
    return JSON.parse((await page.textContent('#result'))!) as RunResult | { error: string };
  }

  it('compiles and runs a model typed into the source editor as tessera run ./model.ts --random-inputs does; its boxes name its lines', async () => {
    const { page } = await contract('?model=torch_multihead_attention', 'editor-open');
    await page.click('#edit-source');
    await page.waitForSelector('#editor .cm-content', { state: 'visible' });
    const example = readFileSync(EXAMPLE, 'utf8');
    const drawn = await drawnLines(page);
    expect(drawn.length).toBeGreaterThan(20);
    expect(drawn).toEqual(example.split('\n').slice(0, drawn.length));
    const text = example.replace('export const EMBED_DIM = 64;', 'export const EMBED_DIM = 32;').replace('new PreNormBlock(EMBED_DIM, 4)', 'new PreNormBlock(EMBED_DIM, 2, 2)');
    expect(text).not.toBe(example);
    await page.fill('#seed', '4');
    const result = await fromEditor(page, text, '#source-run');
    await page.waitForFunction(() => !document.getElementById('status')!.classList.contains('busy'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-run.png'), fullPage: true });
    if ('error' in result) throw new Error(`the page reports an error: ${result.error}`);
    expect(result.model).toBe('model.ts');
    const ran = await cliOnFile(text, 'editor-run', 'run', './model.ts', '--random-inputs', '4', '--output', 'out.safetensors');
    expect(ran.status, ran.stderr).toBe(0);
    const node = summarizeOutputs(Object.fromEntries(readSafetensorsFile(path.join(work, 'editor-run', 'out.safetensors')).tensors));
    expect(Object.keys(result.outputs)).toEqual(Object.keys(node));
    for (const [output, want] of Object.entries(node)) {
      const got = result.outputs[output]!;
      expect(got.shape, output).toEqual([2, 5, 32]);
      expect(got.shape, output).toEqual(want.shape);
      expect(Math.abs(got.sum - want.sum), `${output} sum ${got.sum} vs ${want.sum}`).toBeLessThanOrEqual(TOLERANCE * Math.max(1, Math.abs(want.sum)));
      got.first.forEach((v, k) => expect(Math.abs(v - want.first[k]!), `${output}[${k}]`).toBeLessThanOrEqual(TOLERANCE));
    }
    // exported as the catalog's models are: the bytes tessera export ./model.ts writes
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-onnxruntime')]);
    expect(download.suggestedFilename()).toBe('model.onnxruntime.onnx');
    const exported = await cliOnFile(text, 'editor-run', 'export', './model.ts', '--target', 'onnxruntime', '--onnx', 'model.onnx');
    expect(exported.status, exported.stderr).toBe(0);
    expect(readFileSync((await download.path())!).equals(readFileSync(path.join(work, 'editor-run', 'model.onnx')))).toBe(true);
    // a box shows its op, its type and the editor line that wrote it: the traced MLP's last Linear at forward's last line
    await page.check('input[name=stage][value=traced]');
    const line = text.split('\n').findIndex((l) => l.includes('return attended.add(')) + 1;
    const boxes = await page.$$eval('#graph .box', (gs) => gs.map((g) => [...g.querySelectorAll('text')].map((t) => t.textContent)));
    expect(boxes.some((b) => b[0] === 'MatMul' && /^f32\[B, T, 32\]$/.test(b[1]!) && b[2] === `mlp.2 · model.ts:${line}`)).toBe(true);
    await page.close();
  }, 300_000);

  it("a shape error in the editor is tessera compile model.ts's text, its line marked and scrolled to; a syntax error too", async () => {
    const { page } = await contract('?model=torch_multihead_attention', 'editor-error-open');
    const broken = readFileSync(EXAMPLE, 'utf8').replace('new nn.Linear(mlpRatio * embedDim, embedDim)', 'new nn.Linear(mlpRatio * embedDim + 1, embedDim)');
    const cases = [
      { text: broken, folder: 'editor-shape', line: broken.split('\n').findIndex((l) => l.includes('return attended.add(')) + 1 },
      { text: broken.replace('const h = this.norm1.forward(x);', 'const h = this.norm1.forward(x;'), folder: 'editor-syntax', line: broken.split('\n').findIndex((l) => l.includes('const h = this.norm1')) + 1 },
    ];
    for (const c of cases) {
      const result = await fromEditor(page, c.text, '#source-compile');
      const shown = (await page.textContent('#source-error'))!;
      expect(result).toEqual({ error: shown.replace(/^error: /, '') });
      expect(shown).toContain(`model.ts:${c.line}:`);
      const cli = await cliOnFile(c.text, c.folder, 'compile', 'model.ts');
      expect(cli.status).toBe(1);
      // the syntax error's words are the transpiler's (sucrase here, esbuild in the CLI); its line is the same
      if (c.folder === 'editor-shape') expect(shown).toBe(cli.stderr.trim());
      else expect(cli.stderr).toContain(`model.ts:${c.line}:`);
      expect(await page.isVisible('#source-error')).toBe(true);
      // the line and its number marked, and scrolled into the editor's view
      expect(await page.$$eval('#editor .cm-error-line', (lines) => lines.map((l) => l.textContent))).toEqual([c.text.split('\n')[c.line - 1]]);
      expect(await page.$$eval('#editor .cm-lineNumbers .cm-error-number', (ns) => ns.map((n) => n.textContent))).toEqual([String(c.line)]);
      const inView = await page.$eval('#editor .cm-error-line', (l) => {
        const [r, view] = [l.getBoundingClientRect(), document.querySelector('#editor .cm-scroller')!.getBoundingClientRect()];
        return r.top >= view.top && r.bottom <= view.bottom;
      });
      expect(inView).toBe(true);
      await page.locator('#source-section').screenshot({ path: path.join(ARTIFACTS, `${c.folder}.png`) });
    }
    // an edit clears the error and the mark
    await page.click('#editor .cm-content');
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\n');
    expect(await page.isVisible('#source-error')).toBe(false);
    expect(await page.$$eval('#editor .cm-error-line, #editor .cm-error-number', (marks) => marks.length)).toBe(0);
    await page.close();
  }, 300_000);
});
