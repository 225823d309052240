"""PyTorch side of the small-attention bench: torch.nn.MultiheadAttention(E, H, batch_first=True)
as self-attention without weights, mha(x, x, x, need_weights=False)[0], with the state_dict the
Tessera side uses, exported by torch.onnx (batch and length dynamic).

Usage: /usr/bin/python3 torch_mha.py WEIGHTS.safetensors OUT.onnx EMBED HEADS
Prints one JSON line: {"onnx": OUT.onnx, "nodes": N}.
"""
import json
import sys

import torch

from torch_vision import read_safetensors


class SelfAttention(torch.nn.Module):
    def __init__(self, mha):
        super().__init__()
        self.mha = mha

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


def main(weights, out, embed, heads):
    mha = torch.nn.MultiheadAttention(int(embed), int(heads), batch_first=True).eval()
    mha.load_state_dict(read_safetensors(weights))
    x = torch.randn(1, 16, int(embed))
    # exported with gradients on: under no_grad torch 1.13 takes the fused fast path, which has no ONNX symbolic
    torch.onnx.export(SelfAttention(mha), (x,), out, input_names=["query"], output_names=["output"],
                      dynamic_axes={"query": {0: "B", 1: "L"}, "output": {0: "B", 1: "L"}}, opset_version=17)
    import onnx
    print(json.dumps({"onnx": out, "nodes": len(onnx.load(out).graph.node)}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
