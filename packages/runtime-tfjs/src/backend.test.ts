import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendError, backendInfo, initBackend, initBackendInfo } from './backend.ts';

describe('backend selection', () => {
  it('falls back from tfjs-node to wasm here and says why', async () => {
    expect(await initBackend()).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const info = backendInfo()!;
    expect(info.reason).toMatch(/^tfjs-node is not available \((native addon not found|package not installed)\); using wasm$/);
  });

  it('is idempotent', async () => {
    const first = await initBackendInfo();
    expect(await initBackendInfo('auto')).toBe(first);
    expect(await initBackend('wasm')).toBe('wasm');
  });

  it('refuses a backend asked for by name that cannot run', async () => {
    await expect(initBackend('tfjs-node')).rejects.toThrow(BackendError);
    await expect(initBackend('tfjs-node')).rejects.toThrow(/backend tfjs-node was asked for but native addon not found/);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('switches to cpu when asked', async () => {
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await initBackend('auto')).toBe('cpu');
    expect(await initBackend('wasm')).toBe('wasm');
  });
});
