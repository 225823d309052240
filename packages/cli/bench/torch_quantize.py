"""PyTorch side of the quantization bench: torchvision's model with the same state_dict, eager CPU
latency in fp32 and after torch.ao.quantization.quantize_dynamic({nn.Linear}, qint8), at each batch, on the first
quantized engine of fbgemm, onednn, qnnpack this torch has.

Usage: /usr/bin/python3 torch_quantize.py MODEL WEIGHTS.safetensors IMAGES.f32 BATCH,BATCH,...
IMAGES.f32 holds the largest batch of 3x224x224 images (float32); batch b takes its first b.
Prints one JSON line: {"fp32_ms": {batch: ms}, "int8_ms": {batch: ms}, "fp32_logits": [...],
"int8_logits": [...] (the largest batch, flattened), "engine", "threads", "blas", "linears": how
many nn.Linear modules quantize_dynamic replaced, "float_linears": those it leaves float: nn.MultiheadAttention's
out_proj (a NonDynamicallyQuantizableLinear; its in-projection is a bare parameter) and Swin's attn.qkv and attn.proj}.
"""
import json
import sys

import numpy as np
import torch
import torchvision

from torch_vision import loaded_blas, median_ms, read_safetensors


def main(name, weights, images, batches):
    sizes = [int(v) for v in batches.split(",")]
    model = getattr(torchvision.models, name)().eval()
    model.load_state_dict(read_safetensors(weights))
    x = torch.from_numpy(np.fromfile(images, dtype=np.float32).reshape(max(sizes), 3, 224, 224))
    # fbgemm is the usual x86 engine; Debian's torch 1.13 has onednn (x86, VNNI) and qnnpack instead
    engines = torch.backends.quantized.supported_engines
    torch.backends.quantized.engine = next(e for e in ("fbgemm", "onednn", "qnnpack") if e in engines)
    # nn.MultiheadAttention's out_proj (a Linear subclass) must stay float: its fast path reads out_proj.weight as a tensor;
    # torchvision's shifted_window_attention reads attn.qkv.weight and attn.proj.weight as tensors, which a
    # dynamically quantized Linear does not have: those stay float (they are the rest of Swin's Linears)
    spec = {n: torch.ao.quantization.default_dynamic_qconfig for n, m in model.named_modules()
            if type(m) is torch.nn.Linear and not n.endswith(("attn.qkv", "attn.proj"))}
    qmodel = torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8)
    linears = sum(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in qmodel.modules())
    # nn.MultiheadAttention's out_proj is a NonDynamicallyQuantizableLinear, and its in-projection a bare parameter: both stay float
    float_linears = sum(type(m) in (torch.nn.Linear, torch.nn.modules.linear.NonDynamicallyQuantizableLinear) for m in qmodel.modules())
    out = {"fp32_ms": {}, "int8_ms": {}}
    for b in sizes:
        # Debian's torch runs on the reference BLAS here (Swin-T fp32 at batch 8: over a minute a run)
        repeats = 3 if b == 1 else 1
        out["fp32_ms"][b], fp32 = median_ms(model, x[:b], repeats)
        out["int8_ms"][b], int8 = median_ms(qmodel, x[:b], repeats)
    out.update(fp32_logits=fp32.flatten().tolist(), int8_logits=int8.flatten().tolist(), engine=torch.backends.quantized.engine,
               threads=torch.get_num_threads(), blas=loaded_blas(), linears=linears, float_linears=float_linears)
    print(json.dumps(out))



if __name__ == "__main__":
    main(*sys.argv[1:5])
