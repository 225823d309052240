/**
 * The attention map of a chosen block drawn over the crop the model saw: pickers for the block,
 * the head (or their mean) and, for ViT, the rollout; the map upsampled (the canvas's bilinear
 * smoothing) and blended over the image, and its colour scale. The drawn values are on the canvas
 * as `data-values` (row-major, `data-rows` x `data-cols`), for tests and for anyone curious.
 */
import type { HostTensor } from '@tessera/graph-dsl';
import type { RgbImage } from '@tessera/models';
import type { AttentionBlock, AttentionMap, blockMap, Head } from './attention-map.ts';

/** The map function, from the pipeline's chunk (this file stays in the first view's). */
type BlockMap = typeof blockMap;

/** The canvas side the image is scaled up to, at least. */
const MIN_SIDE = 320;
const HEAT_ALPHA = 0.6;
/** Inferno-like stops from low to high: dark on little attention, bright on much. */
const STOPS = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]] as const;

/** The colour of t in [0, 1] on the scale. */
export function colour(t: number): readonly [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i]!, STOPS[i + 1]!];
  const mix = (c: number) => Math.round(a[c]! + f * (b[c]! - a[c]!));
  return [mix(0), mix(1), mix(2)];
}

function rgbaCanvas(width: number, height: number, pixel: (i: number) => ArrayLike<number>): HTMLCanvasElement {
  const canvas = Object.assign(document.createElement('canvas'), { width, height });
  const image = new ImageData(width, height);
  for (let i = 0; i < width * height; i++) image.data.set(pixel(i), i * 4);
  canvas.getContext('2d')!.putImageData(image, 0, 0);
  return canvas;
}

/** The image, then the map over it: values scaled from the map's min to its max. */
function drawMap(canvas: HTMLCanvasElement, seen: RgbImage, map: AttentionMap): { min: number; max: number } {
  const scale = Math.max(1, Math.ceil(MIN_SIDE / Math.max(seen.width, seen.height)));
  Object.assign(canvas, { width: seen.width * scale, height: seen.height * scale });
  const context = canvas.getContext('2d')!;
  context.imageSmoothingEnabled = true;
  context.drawImage(rgbaCanvas(seen.width, seen.height, (i) => seen.data.subarray(i * 4, i * 4 + 4)), 0, 0, canvas.width, canvas.height);
  const [min, max] = [Math.min(...map.values), Math.max(...map.values)];
  const heat = rgbaCanvas(map.cols, map.rows, (i) => [...colour((map.values[i]! - min) / (max - min || 1)), 255]);
  context.globalAlpha = HEAT_ALPHA;
  context.drawImage(heat, 0, 0, canvas.width, canvas.height);
  context.globalAlpha = 1;
  Object.assign(canvas.dataset, { values: JSON.stringify(Array.from(map.values)), rows: String(map.rows), cols: String(map.cols) });
  return { min, max };
}

/** What the map shows, in words. */
function caption(block: AttentionBlock, head: Head, rollout: boolean): string {
  const heads = head === 'mean' ? `the mean over its ${block.heads} heads` : `head ${head} of ${block.heads}`;
  const g = block.geometry;
  if (g.kind === 'windows') {
    const { window, shift } = g.layout;
    return `Swin attends within windows of ${window.join('x')} patches${shift[0] + shift[1] > 0 ? ` (shifted by ${shift.join(',')} in this block)` : ''}: each patch of the ${g.map.join('x')} map shows the mean attention it receives from the queries of its window in ${block.path}, ${heads}.`;
  }
  if (rollout) return `Attention rollout over blocks 0..${block.path.split('_').at(-1)} (Abnar & Zuidema 2020: heads averaged, the identity added for the residual, rows renormalized, the blocks multiplied): the class token's row over the ${g.grid.join('x')} patches.`;
  return `The class token's attention to each of the ${g.grid.join('x')} patches in ${block.path}, ${heads}.`;
}

function select(id: string, options: readonly [string, string][]): HTMLSelectElement {
  const s = Object.assign(document.createElement('select'), { id });
  for (const [value, text] of options) s.add(new Option(text, value));
  return s;
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = Object.assign(document.createElement('label'), { className: 'inline' });
  label.append(`${text} `, control);
  return label;
}

/** Draws the pickers, the map of the last block (mean over heads) and its scale into `container`; a model without attention blocks hides it. */
export function showAttention(container: HTMLElement, map: BlockMap, blocks: readonly AttentionBlock[], probs: Readonly<Record<string, HostTensor>>, seen: RgbImage): void {
  container.hidden = blocks.length === 0;
  if (blocks.length === 0) return;
  const blockPicker = select('attention-block', blocks.map((b) => [b.path, b.path]));
  blockPicker.value = blocks.at(-1)!.path;
  const headPicker = select('attention-head', []);
  const rollout = Object.assign(document.createElement('input'), { type: 'checkbox', id: 'attention-rollout' });
  const canvas = Object.assign(document.createElement('canvas'), { id: 'attention-map' });
  const legend = Object.assign(document.createElement('canvas'), { id: 'attention-legend', width: 256, height: 12 });
  const [low, high, note] = [document.createElement('span'), document.createElement('span'), Object.assign(document.createElement('p'), { id: 'attention-note' })];
  const isViT = blocks[0]!.geometry.kind === 'class-token';
  const heads = () => {
    const block = blocks.find((b) => b.path === blockPicker.value)!;
    headPicker.replaceChildren(...[['mean', 'mean over heads'] as const, ...Array.from({ length: block.heads }, (_, h) => [String(h), `head ${h}`] as const)].map(([v, t]) => new Option(t, v)));
  };
  const draw = () => {
    const block = blocks.find((b) => b.path === blockPicker.value)!;
    const head: Head = headPicker.value === 'mean' ? 'mean' : Number(headPicker.value);
    headPicker.disabled = rollout.checked;
    const { min, max } = drawMap(canvas, seen, map(blocks, probs, block.path, head, isViT && rollout.checked));
    Object.assign(canvas.dataset, { block: block.path, head: String(head), rollout: String(isViT && rollout.checked) });
    [low.textContent, high.textContent] = [min.toPrecision(3), max.toPrecision(3)];
    note.textContent = caption(block, head, isViT && rollout.checked);
  };
  const scale = legend.getContext('2d')!;
  for (let x = 0; x < legend.width; x++) {
    scale.fillStyle = `rgb(${colour(x / (legend.width - 1)).join(',')})`;
    scale.fillRect(x, 0, 1, legend.height);
  }
  blockPicker.addEventListener('change', () => (heads(), draw()));
  headPicker.addEventListener('change', draw);
  rollout.addEventListener('change', draw);
  const controls = document.createElement('p');
  controls.append(labelled('Block', blockPicker), labelled('Head', headPicker), ...(isViT ? [labelled('rollout over blocks 0..N', rollout)] : []));
  const scaleRow = Object.assign(document.createElement('p'), { className: 'legend' });
  scaleRow.append('attention ', low, ' ', legend, ' ', high, ' (from the least to the most on this map)');
  container.replaceChildren(Object.assign(document.createElement('h3'), { textContent: 'Attention map' }), controls, note, canvas, scaleRow);
  heads();
  draw();
}
