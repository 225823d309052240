/** IEEE 754 half precision (safetensors' F16), to and from the float32 values Tessera computes in. */

const scratch = new DataView(new ArrayBuffer(4));

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The half nearest to `x` (as float32), ties to even as torch's `.half()`: past 65504 it is infinity, under 2^-25 zero, NaN stays NaN. */
export function floatToHalf(x: number): number {
  scratch.setFloat32(0, x);
  const bits = scratch.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e < -10) return sign;
  // a normal half keeps 10 of the 23 mantissa bits; a subnormal one shifts the implicit 1 in and keeps fewer
  const [kept, dropped] = e > 0 ? [(e << 10) | (mantissa >>> 13), 13] : [0, 14 - e];
  const full = e > 0 ? mantissa : mantissa | 0x800000;
  const rest = full & ((1 << dropped) - 1);
  const half = 1 << (dropped - 1);
  const h = e > 0 ? kept : full >>> dropped;
  // a carry out of the mantissa raises the exponent (to infinity past 65504), which is the right answer
  return sign | (rest > half || (rest === half && h & 1) ? h + 1 : h);
}
