import { readFileSync } from 'node:fs';
import { ModelFileError, traceFileModel } from '@tessera/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLine, EDITOR_FILE, keepColumns, linkImports, loadSource, PAGE_MODULES, transpile } from './model-source.ts';

const BLOCK = readFileSync(new URL('../../../examples/prenorm-block/block.ts', import.meta.url), 'utf8');
// vitest formats stacks itself (for its source maps) by each frame's script URL; the browser, as V8 by default, names a frame by its //# sourceURL
const vitestStacks = Error.prepareStackTrace;
beforeAll(() => {
  delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
});
afterAll(() => {
  Error.prepareStackTrace = vitestStacks;
});

const lineOf = (source: string, text: string) => source.split('\n').findIndex((l) => l.includes(text)) + 1;

describe('keepColumns', () => {
  it('puts spaces where types were removed, so the code after keeps its column', () => {
    const typed = "  forward(x: Tensor<'float32', 3>) { return x.relu(); }";
    const kept = keepColumns(typed, '  forward(x) { return x.relu(); }');
    expect(kept.replace(/ +/g, ' ')).toBe(' forward(x ) { return x.relu(); }');
    expect(kept.indexOf('x.relu')).toBe(typed.indexOf('x.relu'));
    const field = '  readonly norm1: nn.LayerNorm;';
    expect(keepColumns(field, '   norm1;')).toBe(`${' '.repeat(field.indexOf('norm1'))}norm1${' '.repeat(field.indexOf(';') - field.indexOf(':'))};`);
  });

  it('keeps a line the transpiler rewrote rather than shortened', () => {
    expect(keepColumns('enum E { A }', 'var E; (function (E) {})(E || (E = {}));')).toBe('var E; (function (E) {})(E || (E = {}));');
    expect(keepColumns('abc', 'ax')).toBe('ax');
  });
});

describe('transpile', () => {
  it('keeps every line and the column of each call', () => {
    const js = transpile(BLOCK);
    const [before, after] = [BLOCK.split('\n'), js.split('\n')];
    expect(after).toHaveLength(before.length);
    const line = lineOf(BLOCK, 'return attended.add(');
    expect(after[line - 1]).toBe(before[line - 1]);
    const typed = lineOf(BLOCK, 'forward(x: Tensor');
    expect(after[typed - 1]!.indexOf('{')).toBe(before[typed - 1]!.indexOf('{'));
    expect(js).not.toMatch(/: Tensor|as const|readonly /);
  });

  it('says where a syntax error is, as a load error of the file', () => {
    expect(() => transpile('const a = 1;\nconst x: number = ;\n')).toThrow(new ModelFileError('model.ts could not be loaded: SyntaxError: Unexpected token (at model.ts:2:19)'));
  });
});

describe('linkImports', () => {
  it("points the page's modules at their copies and keeps each import on its line", () => {
    const code = "import { Module } from '@tessera/graph-dsl';\nimport * as m from \"@tessera/models\";\nconst s = 'from';\n";
    const linked = linkImports(code, PAGE_MODULES);
    expect(linked.split('\n')).toHaveLength(4);
    expect(linked).not.toContain("'@tessera/graph-dsl'");
    expect(linked.split('\n')[0]).toMatch(/^import \{ Module \} from 'data:text\/javascript/);
    expect(linked.split('\n')[2]).toBe("const s = 'from';");
  });

  it('refuses another import at its line', () => {
    expect(() => linkImports("// a model\n\nimport { readFileSync } from 'node:fs';\n", PAGE_MODULES)).toThrow(/^model\.ts:3: imports 'node:fs', which the page does not have/);
  });
});

describe('loadSource', () => {
  it("builds the pre-norm block of examples/ as the CLI's model file, and traces it", async () => {
    const model = await loadSource(BLOCK);
    expect(model.name).toBe(EDITOR_FILE);
    expect(Object.keys(model.inputs)).toEqual(['x']);
    const graph = traceFileModel(model);
    expect(graph.nodes.length).toBeGreaterThan(10);
    const linears = graph.nodes.filter((n) => n.source?.scope === 'mlp.2');
    expect(linears.length).toBeGreaterThan(0);
    expect(linears.every((n) => n.source?.file === EDITOR_FILE && n.source.line === lineOf(BLOCK, 'return attended.add('))).toBe(true);
  });

  it("a shape error names the editor's line and column, as tessera compile model.ts", async () => {
    const broken = BLOCK.replace('new nn.Linear(mlpRatio * embedDim, embedDim)', 'new nn.Linear(mlpRatio * embedDim + 1, embedDim)');
    const model = await loadSource(broken);
    const line = lineOf(broken, 'return attended.add(');
    const column = broken.split('\n')[line - 1]!.indexOf('forward(this.norm2') + 1;
    expect(() => traceFileModel(model)).toThrow(`, at model.ts:${line}:${column} in mlp.2`);
    expect(errorLine(`MatMul: ... at model.ts:${line}:${column} in mlp.2`)).toBe(line);
  });

  it("an error of the file's own code at its top level or in forward names its line", async () => {
    await expect(loadSource("import { Module } from '@tessera/graph-dsl';\n\nthrow new Error('no');\n")).rejects.toThrow('model.ts could not be loaded: no (at model.ts:3:7)');
    const typo = BLOCK.replace('const h = this.norm1.forward(x);', 'const h = this.norm1(x);');
    const model = await loadSource(typo);
    expect(() => traceFileModel(model)).toThrow(new RegExp(`^model\\.ts:${lineOf(typo, 'this.norm1(x)')}:\\d+: TypeError: this\\.norm1 is not a function \\(while tracing forward`));
  });
});

describe('errorLine', () => {
  it("reads the first line the text names in the editor's file, nothing from another file", () => {
    expect(errorLine('model.ts could not be loaded: SyntaxError: Unexpected token (at model.ts:2:19)')).toBe(2);
    expect(errorLine('model.ts:3: imports ...')).toBe(3);
    expect(errorLine('at my_model.ts:4:1')).toBeUndefined();
    expect(errorLine('model.ts: `inputs` must map ...')).toBeUndefined();
  });
});
