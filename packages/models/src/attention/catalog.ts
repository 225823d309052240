import { type DimLike, type InputSpec, type Module, nn, type Tensor } from '@tessera/graph-dsl';
import { Adapter, type BuiltModel, type CatalogEntry, dim, f32, num, validLensInput } from '../entry.ts';
import { type Config, ConfigError } from '../config.ts';
import { AdditiveAttention } from './additive-attention.ts';
import { DotProductAttention } from './dot-product-attention.ts';
import { maskedSoftmax } from './masked-softmax.ts';
import { MultiHeadAttention } from './multihead-attention.ts';
import { NadarayaWatson, NWKernelRegression } from './nadaraya-watson.ts';

/** The attention chapter (article sections 1 and 3). */
const VALID_LENS = ['none', '1d', '2d'] as const;

export const ATTENTION_MODELS: readonly CatalogEntry[] = [
  {
    name: 'masked_softmax',
    description: 'softmax over the last axis with positions past each valid length masked (d2l masked_softmax)',
    reference: 'd2l masked_softmax in PyTorch',
    defaults: { batch: 'B', queries: 2, keys: 4, valid_lens: '1d' },
    choices: { valid_lens: VALID_LENS },
    small: {},
    build: (c) => ({
      module: new Adapter(undefined, (x, lens) => maskedSoftmax(x as Tensor<'float32', 3>, lens as Tensor<'int32', 1>)),
      inputs: { X: f32(dim(c, 'batch'), dim(c, 'queries'), dim(c, 'keys')), ...validLensInput(c, dim(c, 'batch'), dim(c, 'queries')) },
      outputs: ['output'],
    }),
  },
  {
    name: 'nadaraya_watson',
    description: 'Nadaraya-Watson kernel regression (Gaussian kernel attention pooling); parametric=true learns the width w',
    reference: 'd2l NWKernelRegression; closed form in numpy',
    defaults: { parametric: false, queries: 'Q', keys: 'K' },
    choices: {},
    small: {},
    build: (c) => {
      const regressor = c.parametric ? new NWKernelRegression() : new NadarayaWatson();
      return {
        module: new Adapter(regressor, (q, k, v) => {
          const r = regressor.forward(q as Tensor<'float32', 1>, k as Tensor<'float32', 1>, v as Tensor<'float32', 1>);
          return { output: r.output, attention_weights: r.attentionWeights };
        }),
        inputs: { queries: f32(dim(c, 'queries')), keys: f32(dim(c, 'keys')), values: f32(dim(c, 'keys')) },
        outputs: ['output', 'attention_weights'],
      };
    },
  },
  {
    name: 'additive_attention',
    description: 'additive attention, w_v . tanh(W_q q + W_k k), with masked softmax',
    reference: 'd2l AdditiveAttention',
    defaults: { key_size: 2, query_size: 20, num_hiddens: 8, dropout: 0.1, value_size: 4, batch: 'B', queries: 'Q', keys: 'K', valid_lens: '1d' },
    choices: { valid_lens: VALID_LENS },
    small: {},
    build: (c) => {
      const attention = new AdditiveAttention(num(c, 'key_size'), num(c, 'query_size'), num(c, 'num_hiddens'), num(c, 'dropout'));
      return attentionModel(c, attention, (q, k, v, lens) => attention.forward(q, k, v, lens));
    },
  },
  {
    name: 'dot_product_attention',
    description: 'scaled dot-product attention, softmax(Q K^T / sqrt(d)) V, with masked softmax',
    reference: 'd2l DotProductAttention',
    defaults: { query_size: 2, value_size: 4, dropout: 0.5, batch: 'B', queries: 'Q', keys: 'K', valid_lens: '1d' },
    choices: { valid_lens: VALID_LENS },
    small: {},
    build: (c) => {
      const attention = new DotProductAttention(num(c, 'dropout'));
      return attentionModel({ ...c, key_size: c.query_size! }, attention, (q, k, v, lens) => attention.forward(q, k, v, lens));
    },
  },
  {
    name: 'd2l_multihead_attention',
    description: "d2l's multi-head attention: per-head scaled dot-product attention with valid lengths",
    reference: 'd2l MultiHeadAttention',
    defaults: { key_size: 100, query_size: 100, value_size: 100, num_hiddens: 100, num_heads: 5, dropout: 0.5, bias: false, batch: 'B', queries: 'Q', keys: 'K', valid_lens: '1d' },
    choices: { valid_lens: VALID_LENS },
    small: {},
    build: (c) => {
      const attention = new MultiHeadAttention(num(c, 'key_size'), num(c, 'query_size'), num(c, 'value_size'), num(c, 'num_hiddens'), num(c, 'num_heads'), num(c, 'dropout'), c.bias as boolean);
      return attentionModel(c, attention, (q, k, v, lens) => attention.forward(q, k, v, lens), ['output']);
    },
  },
  {
    name: 'torch_multihead_attention',
    description: 'torch.nn.MultiheadAttention: loads its state_dict as is; key_padding_mask, attn_mask (bool or float), need_weights, average_attn_weights, batch_first',
    reference: 'torch.nn.MultiheadAttention',
    defaults: {
      embed_dim: 512, num_heads: 8, dropout: 0, bias: true, kdim: null, vdim: null, batch_first: false,
      need_weights: true, average_attn_weights: true, key_padding_mask: 'none', attn_mask: 'none', attn_mask_dims: 2,
      batch: 'B', tgt_len: 'L', src_len: 'S',
      // one input, attention of a sequence to itself: mha(x, x, x) (src_len is tgt_len)
      self_attention: false,
    },
    choices: { key_padding_mask: ['none', 'bool', 'float'], attn_mask: ['none', 'bool', 'float'] },
    small: { embed_dim: 16, num_heads: 4 },
    build: (c) => {
      const E = num(c, 'embed_dim');
      const H = num(c, 'num_heads');
      const kdim = (c.kdim as number | null) ?? E;
      const vdim = (c.vdim as number | null) ?? E;
      const mha = new nn.MultiheadAttention(E, H, { dropout: num(c, 'dropout'), bias: c.bias as boolean, kdim, vdim, batch_first: c.batch_first as boolean });
      const [B, L] = [dim(c, 'batch'), dim(c, 'tgt_len')];
      const S = c.self_attention ? L : dim(c, 'src_len');
      const seq = (n: DimLike, d: number) => (c.batch_first ? f32(B, n, d) : f32(n, B, d));
      const maskType = (k: string) => (c[k] === 'bool' ? 'bool' : 'float32') as 'bool' | 'float32';
      if (c.self_attention && (kdim !== E || vdim !== E)) throw new ConfigError(`model 'torch_multihead_attention': self_attention reads key and value from the query, so kdim and vdim must be unset`);
      const inputs: Record<string, InputSpec> = c.self_attention ? { query: seq(L, E) } : { query: seq(L, E), key: seq(S, kdim), value: seq(S, vdim) };
      if (c.key_padding_mask !== 'none') inputs.key_padding_mask = { dtype: maskType('key_padding_mask'), shape: [B, S] };
      if (c.attn_mask !== 'none') {
        if (c.attn_mask_dims !== 2 && c.attn_mask_dims !== 3) throw new ConfigError(`model 'torch_multihead_attention': attn_mask_dims must be 2 (L, S) or 3 (B*num_heads, L, S), got ${c.attn_mask_dims}`);
        const lead = typeof B === 'number' ? B * H : `${B}*${H}`;
        inputs.attn_mask = { dtype: maskType('attn_mask'), shape: c.attn_mask_dims === 2 ? [L, S] : [lead, L, S] };
      }
      const names = Object.keys(inputs);
      const module = new Adapter(mha, (...xs) => {
        const byName = Object.fromEntries(names.map((n, i) => [n, xs[i]!]));
        const query = byName.query as Tensor<'float32', 3>;
        const r = mha.forward(query, (byName.key ?? query) as Tensor<'float32', 3>, (byName.value ?? query) as Tensor<'float32', 3>, {
          keyPaddingMask: byName.key_padding_mask as Tensor<'bool', 2> | undefined,
          attnMask: byName.attn_mask as Tensor<'bool', 3> | undefined,
          needWeights: c.need_weights as boolean,
          averageAttnWeights: c.average_attn_weights as boolean,
        });
        return r.attnWeights ? { output: r.output, attn_weights: r.attnWeights } : [r.output];
      });
      return { module, inputs, outputs: c.need_weights ? ['output', 'attn_weights'] : ['output'] };
    },
  },
];

type AttentionCall = (q: Tensor<'float32', 3>, k: Tensor<'float32', 3>, v: Tensor<'float32', 3>, lens?: Tensor<'int32', 1>) => { output: Tensor<'float32', 3>; attentionWeights: Tensor<'float32', 3> };

/** The d2l attention scorers share one interface: queries, keys, values, optional valid lengths. */
function attentionModel(c: Config, inner: Module, call: AttentionCall, outputs = ['output', 'attention_weights']): BuiltModel {
  const [B, Q, K] = [dim(c, 'batch'), dim(c, 'queries'), dim(c, 'keys')];
  const module = new Adapter(inner, (q, k, v, lens) => {
    const r = call(q as Tensor<'float32', 3>, k as Tensor<'float32', 3>, v as Tensor<'float32', 3>, lens as Tensor<'int32', 1> | undefined);
    return outputs.length === 1 ? [r.output] : { output: r.output, attention_weights: r.attentionWeights };
  });
  return {
    module,
    inputs: { queries: f32(B, Q, num(c, 'query_size')), keys: f32(B, K, num(c, 'key_size')), values: f32(B, K, num(c, 'value_size')), ...validLensInput(c, B, Q) },
    outputs,
  };
}

