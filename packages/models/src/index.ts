export * from './attention/masked-softmax.ts';
export * from './attention/dot-product-attention.ts';
export * from './attention/additive-attention.ts';
export * from './attention/multihead-attention.ts';
export * from './attention/nadaraya-watson.ts';
export * from './attention/torch-multihead-attention.ts';
export * from './config.ts';
export * from './catalog.ts';
