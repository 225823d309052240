/**
 * The page: a shell that draws at once, then loads the compiler and tfjs (./pipeline.ts, its own
 * chunk). `?model=...` answers the automation contract (./contract.ts) into #result.
 */
import type { BackendInfo } from '@tessera/runtime-tfjs';
import type { Config } from '@tessera/models';
import { showAttention } from './attention-view.ts';
import { drawLayout } from './graph-view.ts';
import { errorText, parseRequest, parseSeed, type Request, requestSearch, type RunResult } from './contract.ts';

type Pipeline = typeof import('./pipeline.ts');
type Compiled = ReturnType<Pipeline['compileModel']>;
type Build = import('./editor.ts').Build;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const DEFAULT_MODEL = 'torch_multihead_attention';

function setStatus(text: string, busy = false): void {
  $('status').textContent = text;
  $('status').classList.toggle('busy', busy);
}

/** Lets the browser paint the status line before a long synchronous step (tracing, compiling). */
const paint = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function showError(e: unknown): void {
  const text = errorText(e);
  $('error').hidden = false;
  $('error').textContent = `error: ${text}`;
  $('result').textContent = JSON.stringify({ error: text });
  setStatus('Stopped on an error (below).');
}

/** One row per PyTorch constructor argument, with the model's value; fixed choices as a select. */
function drawConfigForm(p: Pipeline, name: string, values: Config): void {
  const entry = p.CATALOG.find((e) => e.name === name)!;
  $('description').textContent = `${entry.description} (matches ${entry.reference})`;
  const form = $('config');
  form.replaceChildren();
  for (const [key, fallback] of Object.entries(entry.defaults)) {
    const label = document.createElement('label');
    label.htmlFor = `config-${key}`;
    label.innerHTML = `<code>${key}</code>`;
    const choices = entry.choices[key];
    const input = document.createElement(choices ? 'select' : 'input') as HTMLInputElement | HTMLSelectElement;
    if (input instanceof HTMLSelectElement) for (const c of choices!) input.add(new Option(c, c));
    input.id = `config-${key}`;
    input.name = key;
    input.dataset.default = p.configValueText(fallback);
    input.value = p.configValueText(values[key] ?? fallback);
    form.append(label, input);
  }
}

/** The form as the CLI's config words: only the arguments that differ from the model's defaults. */
function configFromForm(): string[] {
  return [...$('config').querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')]
    .filter((i) => i.value.trim() !== i.dataset.default)
    .map((i) => `${i.name}=${i.value.trim()}`);
}

/** The layer tree with each layer's output type, parameters and FLOPs, as `tessera summary`. */
function drawSummary(p: Pipeline, compiled: Compiled): void {
  const s = p.summaryOf(compiled);
  $('summary-totals').textContent = `${s.parameters.toLocaleString('en-US')} parameters (${p.humanCount(s.parameters)}); ${p.readableFlops(s.flops)} FLOPs (a multiply-add counts 2; B is the batch)`;
  const table = $<HTMLTableElement>('summary');
  table.replaceChildren();
  table.insertRow().append(...['layer', 'type', 'output', 'parameters', 'FLOPs'].map((h) => Object.assign(document.createElement('th'), { textContent: h })));
  for (const l of s.layers) {
    const row = table.insertRow();
    const cells = [l.path || '(model)', l.type, l.output ?? '', p.humanCount(l.parameters), p.readableFlops(l.flops)];
    cells.forEach((text, i) => {
      const cell = row.insertCell();
      cell.textContent = text;
      if (i === 0) cell.style.paddingLeft = `${l.depth}rem`;
      if (i >= 3) cell.className = 'n';
    });
  }
}

function drawCompiled(compiled: Compiled): void {
  $('compiled').hidden = false;
  $('graph-size').textContent = `${compiled.traced.nodes.length} nodes traced, ${compiled.graph.nodes.length} after the passes; ${compiled.weights.size} weight tensors (${compiled.weightsSource})`;
  const rows = Object.entries(compiled.fusions).map(([rule, n]) => `<tr><td><code>${rule}</code></td><td class="n">${n}</td></tr>`);
  $('fusions').innerHTML = `<tr><th>fusion</th><th>fired</th></tr>${rows.join('')}`;
  $('explain').textContent = compiled.explain;
}

/** The graph before or after the passes, as the radio buttons say; a graph too large to lay out says so instead. */
function drawGraph(p: Pipeline, compiled: Compiled): void {
  $('graph-section').hidden = false;
  const stage = document.querySelector<HTMLInputElement>('input[name=stage]:checked')!.value;
  const graph = stage === 'traced' ? compiled.traced : compiled.graph;
  const svg = $('graph') as unknown as SVGSVGElement;
  if (p.boxCount(graph) > p.MAX_BOXES) {
    svg.replaceChildren();
    $('graph-note').textContent = `${p.boxCount(graph)} boxes: too many to lay out in the page (at most ${p.MAX_BOXES}); try a smaller config.`;
    return;
  }
  $('graph-note').textContent = `${graph.nodes.length} nodes ${stage === 'traced' ? 'as traced' : 'after the passes'}.`;
  drawLayout(svg, p.layoutGraph(graph));
}

/** Saves bytes as a file through the browser's download. */
function download(bytes: Uint8Array, file: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: file });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One button per ONNX export target, and one for the weights. */
function drawExport(p: Pipeline, compiled: Compiled): void {
  $('export').hidden = false;
  const button = (label: string, id: string, bytes: () => Uint8Array, file: string) => {
    const b = Object.assign(document.createElement('button'), { type: 'button', id, textContent: label });
    b.addEventListener('click', () => {
      try {
        download(bytes(), file);
      } catch (e) {
        showError(e);
      }
    });
    return b;
  };
  // the editor's model.ts saves as model.portable.onnx
  const stem = compiled.name.replace(/\.m?[jt]s$/, '');
  $('export-buttons').replaceChildren(
    ...p.ONNX_TARGETS.map((t) => button(`ONNX (${t})`, `export-${t}`, () => p.onnxFile(compiled, t), `${stem}.${t}.onnx`)),
    button('Weights (.safetensors)', 'export-weights', () => p.weightsFile(compiled), `${stem}.safetensors`),
  );
}

function drawOutputs(result: RunResult): void {
  $('outputs').hidden = Object.keys(result.outputs).length === 0;
  const rows = Object.entries(result.outputs).map(
    ([name, o]) => `<tr><td><code>${name}</code></td><td>[${o.shape.join(', ')}]</td><td class="n">${o.sum.toPrecision(6)}</td><td>${o.first.map((v) => v.toFixed(4)).join(' ')}</td></tr>`,
  );
  $('output-table').innerHTML = `<tr><th>output</th><th>shape</th><th>sum</th><th>first values</th></tr>${rows.join('')}`;
}

/** The .safetensors file picked for the weights, if any. */
async function pickedWeights(): Promise<{ name: string; bytes: Uint8Array } | undefined> {
  const picked = $<HTMLInputElement>('weights').files?.[0];
  return picked && { name: picked.name, bytes: new Uint8Array(await picked.arrayBuffer()) };
}

/** Answers a request on screen and in #result; returns the compiled model, if it compiled. `build` makes the model instead of the catalog (the source editor's). */
async function handle(p: Pipeline, backend: BackendInfo, request: Request, build?: Build): Promise<Compiled | undefined> {
  let compiled: Compiled | undefined;
  $('error').hidden = true;
  $('outputs').hidden = true;
  $('result').textContent = '';
  try {
    setStatus(`Compiling ${request.model}…`, true);
    await paint();
    compiled = build ? await build(await pickedWeights()) : p.compileModel(request.model, request.config, await pickedWeights());
    if (!build) drawConfigForm(p, request.model, compiled.config);
    drawCompiled(compiled);
    drawSummary(p, compiled);
    drawExport(p, compiled);
    if (request.run) {
      setStatus(`Running ${request.model} on tfjs (${backend.name}), inputs of seed ${request.seed}…`, true);
      await paint();
    }
    const result = await p.answer(request, backend, compiled);
    drawOutputs(result);
    $('result').textContent = JSON.stringify(result);
    setStatus(`Laying out the graph of ${request.model}…`, true);
    await paint();
    drawGraph(p, compiled);
    setStatus(request.run ? `Ran ${request.model} on tfjs (${backend.name}).` : `Compiled ${request.model}.`);
  } catch (e) {
    showError(e);
  }
  return compiled;
}

/** An image file's RGBA pixels as the browser decodes them, without colour conversion (as PIL reads them). */
async function pixelsOf(file: File): Promise<{ width: number; height: number; data: Uint8Array }> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return { width: bitmap.width, height: bitmap.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Compiles the form's model and classifies the picked image with it; the top classes into the table and #result. */
async function classifyImage(p: Pipeline, backend: BackendInfo, file: File): Promise<void> {
  $('error').hidden = true;
  $('attention').hidden = true;
  $('result').textContent = '';
  try {
    const request = formRequest(false);
    setStatus(`Compiling ${request.model} and classifying ${file.name}…`, true);
    await paint();
    const compiled = p.compileModel(request.model, request.config, await pickedWeights(), { attention: true });
    const classified = await p.classify(compiled, await pixelsOf(file), file.name);
    $('classified-input').textContent = classified.input;
    const rows = classified.top.map((r, i) => `<tr><td>${i + 1}.</td><td class="n">${(r.probability * 100).toFixed(2)}%</td><td></td><td class="n">${r.index}</td></tr>`);
    $('top5').innerHTML = `<tr><th></th><th>probability</th><th>class</th><th>index</th></tr>${rows.join('')}`;
    // labels as text: they are data, not markup
    [...$('top5').querySelectorAll('tr')].slice(1).forEach((tr, i) => (tr.children[2]!.textContent = classified.top[i]!.label));
    showAttention($('attention'), p.blockMap, compiled.attention, classified.probs, classified.seen);
    $('result').textContent = JSON.stringify({ model: request.model, backend: backend.name, top: classified.top });
    setStatus(`Classified ${file.name} with ${request.model}${compiled.weightsSource.startsWith('initial') ? ' (initial weights: the classes mean nothing)' : ''}.`);
  } catch (e) {
    showError(e);
  }
}

function formRequest(run: boolean): Request {
  return { model: $<HTMLSelectElement>('model').value, config: configFromForm(), seed: parseSeed($<HTMLInputElement>('seed').value.trim() || '0'), run };
}

async function start(): Promise<void> {
  const p: Pipeline = await import('./pipeline.ts');
  setStatus('Starting TensorFlow.js…', true);
  const backend = await p.startBackend();
  $('backend').textContent = `TensorFlow.js backend: ${backend.name} (${backend.reason}).`;

  // the model on screen, for redrawing its graph at the other stage
  let shown: Compiled | undefined;
  const picker = $<HTMLSelectElement>('model');
  for (const e of p.CATALOG) picker.add(new Option(`${e.name}: ${e.description}`, e.name));
  picker.addEventListener('change', () => drawConfigForm(p, picker.value, p.CATALOG.find((e) => e.name === picker.value)!.small));
  const submit = (run: boolean) => {
    let request: Request;
    try {
      request = formRequest(run);
    } catch (e) {
      showError(e);
      return;
    }
    history.replaceState(null, '', requestSearch(request));
    void handle(p, backend, request).then((c) => (shown = c ?? shown));
  };
  $('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit(false);
  });
  $('run').addEventListener('click', () => submit(true));
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=stage]')) radio.addEventListener('change', () => shown && drawGraph(p, shown));
  const image = $<HTMLInputElement>('image');
  $('classify').addEventListener('click', () => image.files?.[0] && void classifyImage(p, backend, image.files[0]));
  const drop = $('image-drop');
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const file = ev.dataTransfer?.files[0];
    if (file) void classifyImage(p, backend, file);
  });
  // the DSL source editor (./editor.ts, its own chunk with the transpiler, loaded when first opened): its model goes through handle as a catalog model
  $('edit-source').addEventListener('click', () => {
    import('./editor.ts')
      .then((editor) =>
        editor.openEditor((run, build) => {
          try {
            const request = { ...formRequest(run), model: editor.EDITOR_FILE, config: [] };
            void handle(p, backend, request, build).then((c) => (shown = c ?? shown));
          } catch (e) {
            showError(e);
          }
        }),
      )
      .catch(showError);
  });
  for (const id of ['model', 'compile', 'run', 'classify', 'edit-source']) $<HTMLButtonElement>(id).disabled = false;

  const request = parseRequest(location.search);
  const first = request ?? { model: DEFAULT_MODEL, config: [], seed: 0, run: false };
  picker.value = p.CATALOG.some((e) => e.name === first.model) ? first.model : DEFAULT_MODEL;
  $<HTMLInputElement>('seed').value = String(first.seed);
  if (request) shown = await handle(p, backend, request);
  else {
    drawConfigForm(p, DEFAULT_MODEL, p.CATALOG.find((e) => e.name === DEFAULT_MODEL)!.small);
    setStatus('Ready: pick a model and press Compile or Compile and run.');
  }
}

start().catch(showError);
