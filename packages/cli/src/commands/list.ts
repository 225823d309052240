import { CATALOG } from '@tessera/models';

export function list(): string {
  const width = Math.max(...CATALOG.map((e) => e.name.length));
  return CATALOG.map((e) => `${e.name.padEnd(width)}  ${e.description}`).join('\n');
}
