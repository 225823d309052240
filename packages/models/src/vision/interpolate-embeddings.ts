/**
 * torchvision 0.14's `interpolate_embeddings`: a ViT state_dict trained at one image size, made to
 * load into a model built for another. The position embedding's patch grid (the class token's
 * row stays as it is) is resized with F.interpolate, align_corners=True, bicubic by default.
 */
import { type HostTensor, hostTensor, type InterpolateMode, interpolateHost, WeightsError } from '@tessera/graph-dsl';

const KEY = 'encoder.pos_embedding';

/** `interpolate_embeddings(image_size, patch_size, model_state, interpolation_mode, reset_heads)`: a new state_dict; the given one is not changed. */
export function interpolateEmbeddings(imageSize: number, patchSize: number, modelState: ReadonlyMap<string, HostTensor>, interpolationMode: InterpolateMode = 'bicubic', resetHeads = false): Map<string, HostTensor> {
  const pos = modelState.get(KEY);
  if (!pos) throw new WeightsError(`interpolate_embeddings: the state_dict has no ${KEY}`, [KEY]);
  const [n, seqLength, hiddenDim] = pos.shape as [number, number, number];
  if (pos.shape.length !== 3 || n !== 1) throw new WeightsError(`interpolate_embeddings: unexpected position embedding shape [${pos.shape.join(', ')}] (expected [1, seq_length, hidden_dim])`, [], [], [KEY]);
  const side = Math.floor(imageSize / patchSize);
  const out = new Map(modelState);
  if (side * side + 1 !== seqLength) {
    const grid = Math.round(Math.sqrt(seqLength - 1));
    if (grid * grid !== seqLength - 1) throw new WeightsError(`interpolate_embeddings: ${KEY} has ${seqLength - 1} patch positions, not a square grid`, [], [], [KEY]);
    // (1, 1 + g*g, D): the class token's row, then the grid as (1, D, g, g) for F.interpolate
    const image = hostTensor('float32', [1, hiddenDim, grid, grid]);
    for (let p = 0; p < grid * grid; p++) for (let d = 0; d < hiddenDim; d++) image.data[d * grid * grid + p] = pos.data[(1 + p) * hiddenDim + d]!;
    const resized = interpolateHost(image, { mode: interpolationMode, alignCorners: true, size: [side, side] });
    const next = hostTensor('float32', [1, side * side + 1, hiddenDim]);
    next.data.set(pos.data.subarray(0, hiddenDim) as Float32Array);
    for (let p = 0; p < side * side; p++) for (let d = 0; d < hiddenDim; d++) next.data[(1 + p) * hiddenDim + d] = resized.data[d * side * side + p]!;
    out.set(KEY, next);
  }
  if (resetHeads) for (const k of [...out.keys()]) if (k.startsWith('heads')) out.delete(k);
  return out;
}
