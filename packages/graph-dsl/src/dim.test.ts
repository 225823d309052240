import { describe, expect, it } from 'vitest';
import { addDims, dimToString, dimsEqual, divDims, evaluateDim, mulDims, parseDim, substitute, sym } from './dim.ts';

describe('symbolic dims', () => {
  it('puts equal expressions in one canonical form', () => {
    expect(dimsEqual(parseDim('B*T'), parseDim('T*B'))).toBe(true);
    expect(dimsEqual(parseDim('T+1-1'), sym('T'))).toBe(true);
    expect(dimToString(parseDim('(H+2)/2'))).toBe('H/2 + 1');
    expect(dimToString(parseDim('2*H - H'))).toBe('H');
    expect(parseDim('3*4')).toBe(12);
  });
  it('divides by a symbol factor and by numbers', () => {
    expect(dimToString(divDims(parseDim('B*heads'), sym('heads')))).toBe('B');
    expect(() => divDims(parseDim('B+1'), sym('B'))).toThrow(/factor B/);
    expect(dimToString(divDims(parseDim('100*B*Q'), parseDim('5*B*Q')))).toBe('20');
    expect(() => divDims(parseDim('B*T'), parseDim('B*Q'))).toThrow(/factor Q/);
    expect(dimToString(mulDims(divDims(sym('H'), 2), 2))).toBe('H');
  });
  it('binds symbols and checks that the result is whole', () => {
    const b = new Map([['H', 14]]);
    expect(evaluateDim(parseDim('H/2 + 1'), b)).toBe(8);
    expect(() => evaluateDim(parseDim('H/4'), b)).toThrow(/H\/4 is 7\/2 for H=14: it must be a whole number/);
    expect(() => evaluateDim(parseDim('H*W'), b)).toThrow(/needs a value for W/);
    expect(dimToString(substitute(addDims(parseDim('H*W'), 1), b))).toBe('14*W + 1');
  });
  it('rejects malformed text', () => {
    expect(() => parseDim('H/')).toThrow(/ends too early/);
    expect(() => parseDim('H$2')).toThrow(/cannot parse/);
  });
});
