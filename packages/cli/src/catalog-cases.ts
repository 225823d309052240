/** Every catalog model at its small config, plus the variants where a config switches inputs or layout: the cases the catalog-wide tests run. */
import { CATALOG, type CatalogEntry, type Config, configWords } from '@tessera/models';

const VARIANTS: Record<string, readonly Config[]> = {
  masked_softmax: [{ valid_lens: 'none' }, { valid_lens: '2d' }],
  nadaraya_watson: [{ parametric: true }],
  additive_attention: [{ valid_lens: '2d' }],
  d2l_multihead_attention: [{ valid_lens: 'none' }],
  torch_multihead_attention: [
    { batch_first: true, key_padding_mask: 'bool', attn_mask: 'bool' },
    { batch_first: true, key_padding_mask: 'float', attn_mask: 'float', attn_mask_dims: 3, average_attn_weights: false },
    { kdim: 6, vdim: 10, need_weights: false, bias: false },
    { batch_first: true, self_attention: true, need_weights: false },
  ],
};

/** A config as the CLI's `key=value` words. */
export const asArgs = (c: Config): string[] => configWords(c);

export const CATALOG_CASES: readonly { readonly entry: CatalogEntry; readonly config: Config }[] = CATALOG.flatMap((entry) =>
  [{}, ...(VARIANTS[entry.name] ?? [])].map((variant) => ({ entry, config: { ...entry.small, ...variant } })),
);
