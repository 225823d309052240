"""PyTorch side of the vision bench: torchvision's model (random weights, seeded), eager CPU latency
at each batch size, and torch.onnx's export of it (batch as a dynamic axis) for ONNX Runtime to time.

Usage: /usr/bin/python3 torch_vision.py MODEL WEIGHTS.safetensors OUT.onnx [BATCH,BATCH,...]
Loads the same state_dict the Tessera side uses (written by pth_to_safetensors.py) and the image
written beside it (WEIGHTS.safetensors.image.f32, one 3x224x224 image, repeated to each batch);
prints one JSON line: {"eager_ms": {batch: ms}, "onnx": "OUT.onnx", "logits": [logits of the image],
"blas": the BLAS library torch loaded, "threads": torch's intra-op threads}.
"""
import json
import struct
import sys
import time

import numpy as np
import torch
import torchvision


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    kinds = {"F32": np.float32, "I64": np.int64, "I32": np.int32}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=kinds[v["dtype"]]).reshape(v["shape"]).copy())
    return out


def loaded_blas():
    """The BLAS shared libraries mapped into this process (Debian's torch links libblas.so.3, which
    update-alternatives points at the reference BLAS or at OpenBLAS)."""
    import os
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "none found"


def median_ms(model, x, repeats):
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            logits = model(x)
            times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[len(times) // 2], logits


def main(name, weights, out, batches="1"):
    model = getattr(torchvision.models, name)().eval()
    model.load_state_dict(read_safetensors(weights))
    x = torch.from_numpy(np.fromfile(weights + ".image.f32", dtype=np.float32).reshape(1, 3, 224, 224))
    eager = {}
    for b in [int(v) for v in batches.split(",")]:
        eager[b], logits = median_ms(model, x.repeat(b, 1, 1, 1), 5 if b == 1 else 3)
    # exported with gradients on: under no_grad torch 1.13 takes the fused MHA fast path, which has no ONNX symbolic
    torch.onnx.export(model, x, out, input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "B"}, "logits": {0: "B"}}, opset_version=17)
    print(json.dumps({"eager_ms": eager, "onnx": out, "logits": logits[0].tolist(), "blas": loaded_blas(), "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
