/** F.interpolate on the host: the op's own taps (graph-dsl's `interpolateHost`), in double precision. */
import { type HostTensor, type InterpolateAttrs, interpolateHost } from '@tessera/graph-dsl';

export function Interpolate([x]: readonly (HostTensor | null)[], attrs: InterpolateAttrs): HostTensor[] {
  return [interpolateHost(x!, attrs)];
}
