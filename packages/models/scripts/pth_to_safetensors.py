"""Converts a PyTorch state_dict (.pth / .pt, e.g. torchvision's vit_b_16 or swin_t weights) to safetensors.

Usage: /usr/bin/python3 packages/models/scripts/pth_to_safetensors.py IN.pth OUT.safetensors
       /usr/bin/python3 packages/models/scripts/pth_to_safetensors.py --torchvision swin_t OUT.safetensors [--seed N] [--noise STD]
The second form writes the state_dict of torchvision.models.<name>() with random weights (no
download), seeded, for trying the CLI and checking parity at full size; --noise adds seeded
normal noise to the parameters torchvision initializes to all zeros (ViT's head), so that the
logits are not all 0. Keys are kept as they are
(`encoder.layers.encoder_layer_0.ln_1.weight`, `features.1.0.attn.relative_position_index`), so the
file loads into the Tessera model of the same name as is. Needs only Debian's python3-torch (and
python3-torchvision for --torchvision); the writer is written here, not the safetensors package.
"""
import json
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def load_state_dict(path):
    obj = torch.load(path, map_location="cpu")
    # checkpoints sometimes wrap the state_dict
    for key in ("state_dict", "model", "model_state"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise SystemExit(f"{path}: not a state_dict (a dict of tensors)")
    return obj


def save_safetensors(state_dict, path, metadata=None):
    header, chunks, offset = {}, [], 0
    for key in sorted(state_dict):
        t = state_dict[key].detach().cpu().contiguous()
        if t.dtype not in DTYPES:
            raise SystemExit(f"{key}: dtype {t.dtype} has no safetensors code")
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[key] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text.encode()) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text.encode())))
        f.write(text.encode())
        for chunk in chunks:
            f.write(chunk)
    return len(state_dict), offset


def main(argv):
    if len(argv) >= 3 and argv[0] == "--torchvision":
        import torchvision
        seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
        torch.manual_seed(seed)
        model = getattr(torchvision.models, argv[1])()
        if "--noise" in argv:
            std = float(argv[argv.index("--noise") + 1])
            with torch.no_grad():
                for p in model.parameters():
                    if not p.any():
                        p.normal_(0, std)
        state, out, meta = model.state_dict(), argv[2], {"source": f"torchvision.models.{argv[1]}() seed {seed}"}
    elif len(argv) == 2:
        state, out, meta = load_state_dict(argv[0]), argv[1], {"source": argv[0]}
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    n, size = save_safetensors(state, out, meta)
    print(f"wrote {n} tensors ({size / 2**20:.1f} MiB) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
