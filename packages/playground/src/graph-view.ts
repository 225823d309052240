/** Draws a Layout as SVG in the page, with zoom (wheel, around the pointer) and pan (drag). */
import type { Layout } from './graph-layout.ts';

const SVG = 'http://www.w3.org/2000/svg';

function element<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent.append(e);
  return e;
}

/** Replaces the svg's content with the picture, scaled to fit its width. */
export function drawLayout(svg: SVGSVGElement, layout: Layout): void {
  svg.replaceChildren();
  const defs = element('defs', {}, svg);
  const marker = element('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
  element('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }, marker);
  const view = element('g', {}, svg);
  for (const points of layout.edges) {
    element('polyline', { points: points.map((p) => `${p.x},${p.y}`).join(' '), class: 'edge', 'marker-end': 'url(#arrow)' }, view);
  }
  for (const b of layout.boxes) {
    const g = element('g', { class: `box ${b.kind}`, transform: `translate(${b.x - b.width / 2},${b.y - b.height / 2})` }, view);
    element('title', {}, g).textContent = b.lines.join('\n');
    element('rect', { width: b.width, height: b.height, rx: 4 }, g);
    b.lines.forEach((line, i) => {
      const text = element('text', { x: 8, y: 15 + i * 15, class: i === 0 ? 'op' : 'detail' }, g);
      text.textContent = line;
    });
  }

  const width = svg.clientWidth || 800;
  let scale = Math.min(1, width / Math.max(layout.width, 1));
  let x = (width - layout.width * scale) / 2;
  let y = 0;
  const apply = () => view.setAttribute('transform', `translate(${x},${y}) scale(${scale})`);
  apply();
  svg.onwheel = (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    const [px, py] = [ev.clientX - r.left, ev.clientY - r.top];
    const next = Math.min(4, Math.max(0.02, scale * Math.exp(-ev.deltaY / 400)));
    // keep the point under the pointer where it is
    x = px - ((px - x) * next) / scale;
    y = py - ((py - y) * next) / scale;
    scale = next;
    apply();
  };
  svg.onpointerdown = (down) => {
    const [x0, y0] = [x, y];
    svg.setPointerCapture(down.pointerId);
    svg.onpointermove = (move) => {
      x = x0 + move.clientX - down.clientX;
      y = y0 + move.clientY - down.clientY;
      apply();
    };
    svg.onpointerup = () => (svg.onpointermove = null);
  };
}
