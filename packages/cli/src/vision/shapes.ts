/** A generated image dataset: small RGB images of one shape each (circle, square, triangle, plus) on a dark, noisy background. */
import { hostTensor, type HostTensor, seededRandom } from '@tessera/graph-dsl';

export const SHAPES = ['circle', 'square', 'triangle', 'plus'] as const;

export interface ShapesBatch {
  /** (N, 3, size, size), normalized to mean 0 and about unit spread. */
  readonly images: HostTensor<'float32'>;
  readonly labels: Int32Array;
}

/** Whether pixel (x, y) is inside shape k centred at (cx, cy) with radius r. */
function inside(k: number, x: number, y: number, cx: number, cy: number, r: number): boolean {
  const [dx, dy] = [x - cx, y - cy];
  switch (SHAPES[k]) {
    case 'circle':
      return dx * dx + dy * dy <= r * r;
    case 'square':
      return Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85;
    case 'triangle':
      // apex up: inside when below the two slanted edges and above the base
      return dy <= r * 0.8 && dy >= -r && Math.abs(dx) <= (dy + r) * 0.6;
    default:
      return (Math.abs(dx) <= r * 0.3 && Math.abs(dy) <= r) || (Math.abs(dy) <= r * 0.3 && Math.abs(dx) <= r);
  }
}

/** `count` images of `size` x `size`, classes balanced and shuffled, positions, sizes and colours random from `seed`. */
export function shapesDataset(count: number, size: number, seed: number): ShapesBatch {
  const random = seededRandom(seed);
  const images = hostTensor('float32', [count, 3, size, size]);
  const labels = new Int32Array(count);
  const plane = size * size;
  for (let n = 0; n < count; n++) {
    const k = n % SHAPES.length;
    labels[n] = k;
    const r = size * (0.18 + 0.17 * random());
    const cx = r + (size - 2 * r) * random();
    const cy = r + (size - 2 * r) * random();
    // a light shape on a dark background, colours random within those ranges
    const fg = [0.6 + 0.4 * random(), 0.6 + 0.4 * random(), 0.6 + 0.4 * random()];
    const bg = [0.3 * random(), 0.3 * random(), 0.3 * random()];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = inside(k, x + 0.5, y + 0.5, cx, cy, r);
        for (let c = 0; c < 3; c++) images.data[(n * 3 + c) * plane + y * size + x] = ((on ? fg[c]! : bg[c]!) + 0.1 * (random() - 0.5) - 0.5) * 2;
      }
    }
  }
  // shuffle images and labels together
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = images.data.slice(i * 3 * plane, (i + 1) * 3 * plane);
    images.data.copyWithin(i * 3 * plane, j * 3 * plane, (j + 1) * 3 * plane);
    images.data.set(a, j * 3 * plane);
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  return { images, labels };
}
