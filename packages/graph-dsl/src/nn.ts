/** `torch.nn` under its own names: layers, activations, containers, attention and the Transformer layers, one family per file. */
export * from './nn/layers.ts';
export * from './nn/activation.ts';
export * from './nn/container.ts';
export * from './nn/multihead-attention.ts';
export * from './nn/transformer.ts';
