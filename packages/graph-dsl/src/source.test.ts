import { describe, expect, it } from 'vitest';
import { callerLocation, parseFrame } from './source.ts';

describe('parseFrame', () => {
  it('reads paths, file:// and http URLs and bare names (//# sourceURL) with their line and column', () => {
    expect(parseFrame('    at Block.forward (/work/m/model.ts:30:34)')).toEqual({ file: '/work/m/model.ts', line: 30, column: 34 });
    expect(parseFrame('    at file:///work/m/a%20b.ts:3:4')).toEqual({ file: '/work/m/a b.ts', line: 3, column: 4 });
    expect(parseFrame('    at Linear.forward (http://127.0.0.1:4173/assets/graph-dsl-x1.js:1:2345)')).toEqual({ file: 'http://127.0.0.1:4173/assets/graph-dsl-x1.js', line: 1, column: 2345 });
    expect(parseFrame('    at PreNormBlock.forward (model.ts:30:34)')).toEqual({ file: 'model.ts', line: 30, column: 34 });
    expect(parseFrame('    at model.ts:4:16')).toEqual({ file: 'model.ts', line: 4, column: 16 });
  });

  it('skips frames with no file', () => {
    expect(parseFrame('    at new Promise (<anonymous>)')).toBeUndefined();
    expect(parseFrame('    at eval (eval at evaluate (:370:30), <anonymous>:7:33)')).toBeUndefined();
    expect(parseFrame('Error: boom')).toBeUndefined();
  });
});

describe('callerLocation', () => {
  it('names the caller outside the DSL relative to the working directory (a test file of the DSL counts as outside)', () => {
    const at = callerLocation();
    expect(at?.file).toMatch(/(^|\/)src\/source\.test\.ts$/);
    expect(at?.file.startsWith('/')).toBe(false);
    expect(at?.line).toBe(22);
  });
});
