import { describe, expect, it } from 'vitest';
import { heatmapSvg, lossCurveSvg } from './svg.ts';

describe('plots', () => {
  it('draws one point per epoch, highest loss at the top', () => {
    const svg = lossCurveSvg([2, 1, 0.5]);
    const points = /points="([^"]+)"/.exec(svg)![1]!.split(' ').map((p) => p.split(',').map(Number));
    expect(points).toHaveLength(3);
    expect(points[0]![1]).toBeLessThan(points[2]![1]!); // SVG y grows downwards
  });
  it('draws one cell per weight, darker for more weight, labels escaped', () => {
    const svg = heatmapSvg([[1, 0], [0.5, 0.5]], ['a', '<eos>'], ['x', 'y'], 't');
    expect(svg.match(/<rect x=/g)).toHaveLength(4);
    expect(svg).toContain('rgb(0,0,255)');
    expect(svg).toContain('&lt;eos&gt;');
  });
});
