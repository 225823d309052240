"""The PyTorch block that block.ts writes, for the parity check in packages/cli/test/examples.test.ts.

Usage: /usr/bin/python3 examples/prenorm-block/torch_reference.py
Writes torch_weights.safetensors (its state_dict, seeded) and torch_io.safetensors (an input x and
torch's output y) beside this file. Needs only python3-torch.
"""
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../packages/models/scripts"))
from pth_to_safetensors import save_safetensors  # noqa: E402


class PreNormBlock(nn.Module):
    def __init__(self, embed_dim, num_heads, mlp_ratio=4):
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dim)
        self.self_attn = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, mlp_ratio * embed_dim), nn.GELU(), nn.Linear(mlp_ratio * embed_dim, embed_dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


torch.manual_seed(0)
block = PreNormBlock(64, 4).eval()
with torch.no_grad():
    # LayerNorm starts at ones and zeros: move them so that a swapped weight and bias would show
    for p in block.parameters():
        p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(2, 5, 64)
    y = block(x)
save_safetensors(block.state_dict(), os.path.join(HERE, "torch_weights.safetensors"), {"source": "examples/prenorm-block/torch_reference.py"})
save_safetensors({"x": x, "y": y}, os.path.join(HERE, "torch_io.safetensors"), {"source": "examples/prenorm-block/torch_reference.py"})
print(f"wrote torch_weights.safetensors ({len(block.state_dict())} tensors) and torch_io.safetensors: x {list(x.shape)}, y {list(y.shape)}")
