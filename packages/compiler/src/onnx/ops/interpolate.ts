/**
 * Interpolate as ONNX Resize, set to compute torch's numbers: `align_corners` or `half_pixel`
 * coordinates (torch's; `pytorch_half_pixel` differs only for an output of size 1), bicubic with
 * cubic_coeff_a -0.75 and exclude_outside 0 (border taps clamped, as torch). A scale_factor the
 * user gave goes in `scales`, so that coordinates scale by it as torch's do; else the `sizes`.
 */
import { hostTensor } from '@tessera/graph-dsl';
import type { OnnxOpTable } from './types.ts';

export const interpolateOps = {
  Interpolate: (node, cx) => {
    const { mode, alignCorners, size, scales } = node.attrs;
    const [n, c, h, w] = cx.inputType(node, 0).shape;
    // torch's bilinear copies an axis whose size the scale_factor keeps (10 at 1.05 is 10): scale 1 there
    const scaleOf = (i: 0 | 1, from: unknown) => (mode === 'bilinear' && from === size[i] ? 1 : scales![i]);
    // Resize takes (X, roi, scales, sizes): scales or sizes, the other absent
    const inputs = scales ? [cx.input(node, 0), '', cx.constant(hostTensor('float32', [4], [1, 1, scaleOf(0, h), scaleOf(1, w)]))] : [cx.input(node, 0), '', '', cx.shape([n!, c!, size[0], size[1]])];
    const attrs = {
      mode: mode === 'bilinear' ? 'linear' : 'cubic',
      coordinate_transformation_mode: alignCorners ? 'align_corners' : 'half_pixel',
      ...(mode === 'bicubic' ? { cubic_coeff_a: { float: -0.75 }, exclude_outside: 0 } : {}),
    };
    cx.emit('Resize', inputs, attrs, cx.output(node));
  },
} satisfies Partial<OnnxOpTable>;
