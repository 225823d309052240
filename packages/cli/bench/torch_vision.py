"""PyTorch side of the vision bench: torchvision's model (random weights, seeded), eager CPU latency,
and torch.onnx's export of it (batch as a dynamic axis) for ONNX Runtime to time.

Usage: /usr/bin/python3 torch_vision.py MODEL WEIGHTS.safetensors OUT.onnx
Loads the same state_dict the Tessera side uses (written by pth_to_safetensors.py), prints one JSON line:
{"eager_ms": ..., "onnx": "OUT.onnx", "logits": [first 10 logits for image seed 0]}.
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


def main(name, weights, out):
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = getattr(torchvision.models, name)().eval()
    model.load_state_dict(read_safetensors(weights))
    x = torch.from_numpy(np.fromfile(weights + ".image.f32", dtype=np.float32).reshape(1, 3, 224, 224))
    with torch.no_grad():
        for _ in range(2):
            model(x)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            logits = model(x)
            times.append((time.perf_counter() - t0) * 1000)
    # exported with gradients on: under no_grad torch 1.13 takes the fused MHA fast path, which has no ONNX symbolic
    torch.onnx.export(model, x, out, input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "B"}, "logits": {0: "B"}}, opset_version=17)
    print(json.dumps({"eager_ms": sorted(times)[len(times) // 2], "onnx": out, "logits": logits[0].tolist()}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
