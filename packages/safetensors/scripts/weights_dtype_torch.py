"""PyTorch's side of export --weights-dtype (torch 1.13; tests never run it).

Usage: /usr/bin/python3 packages/safetensors/scripts/weights_dtype_torch.py half
         prints the bits of torch's .half() for the values of src/half.test.ts
       /usr/bin/python3 packages/safetensors/scripts/weights_dtype_torch.py check FLOAT32.safetensors OUT.safetensors [TORCHVISION_MODEL]
         reads OUT back with the README's lines and compares it with the float32 file it came from:
         every tensor equal to the original or to torch's .half() of it (float16), each tensor's
         max abs / max |W| (int8: about 1/254 at most); with a model name, loads it into torchvision's.
Uses the safetensors package's load_file where installed, else the small reader below (same result).
"""
import json
import struct
import sys

import torch

try:
    from safetensors.torch import load_file
except ImportError:
    DTYPES = {"F32": torch.float32, "F16": torch.float16, "I8": torch.int8, "I32": torch.int32, "I64": torch.int64, "BOOL": torch.bool, "U8": torch.uint8}

    def load_file(path):
        data = open(path, "rb").read()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        header.pop("__metadata__", None)
        out = {}
        for key, e in header.items():
            begin, end = e["data_offsets"]
            raw = bytearray(data[8 + n + begin:8 + n + end])
            dtype = DTYPES[e["dtype"]]
            out[key] = (torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)).reshape(e["shape"])
        return out


def read_back(path):
    # the README's lines
    sd = load_file(path)
    for key in [k[: -len(":scale")] for k in sd if k.endswith(":scale")]:
        w = sd[key]  # int8: W[i, ...] = I8[i, ...] * scale[i]
        sd[key] = w.float() * sd.pop(key + ":scale").view(-1, *[1] * (w.dim() - 1))
    return {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}


def half():
    values = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, -65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25,
              2 ** -25 * 1.0001, 2 ** -14, 2 ** -14 - 2 ** -25, 1 / 3, 0.1, -0.0, float("inf"), 1e-8]
    for v in values:
        bits = torch.tensor([v], dtype=torch.float32).half().view(torch.int16).item() & 0xFFFF
        print(f"{v!r}: 0x{bits:04x}")


def check(original_path, path, model=None):
    original, sd = load_file(original_path), read_back(path)
    same = sum(torch.equal(v, original[k]) or torch.equal(v, original[k].half().float()) for k, v in sd.items())
    worst = max(((v - original[k].float()).abs().max() / original[k].float().abs().max().clamp(min=1e-30)).item() for k, v in sd.items())
    print(f"{len(sd)} tensors ({len(set(original) - set(sd))} keys of {original_path} not in {path}: buffers the model computes)")
    print(f"{same} equal to the original or to torch's .half() of it; the largest max abs / max |W| of a tensor: {worst:.2e}")
    if model:
        import torchvision
        print(getattr(torchvision.models, model)().load_state_dict(sd, strict=False))


if __name__ == "__main__":
    if sys.argv[1:2] == ["half"]:
        half()
    elif sys.argv[1:2] == ["check"] and len(sys.argv) in (4, 5):
        check(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
