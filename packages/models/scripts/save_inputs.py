"""Writes PyTorch tensors as an inputs file for `tessera run MODEL --inputs FILE.safetensors`.

From Python (Debian has no safetensors module; this needs only python3-torch):

    import sys; sys.path.insert(0, "packages/models/scripts")
    from save_inputs import save_inputs
    save_inputs({"query": q, "key": k, "value": v}, "in.safetensors")

From the shell, for a dict of tensors saved with torch.save({"query": q, ...}, "in.pt"):

    /usr/bin/python3 packages/models/scripts/save_inputs.py in.pt in.safetensors

The names are the model's input names (`tessera summary MODEL` lists them with their dtypes and
shapes). Tessera's inputs are float32, int32 or bool: float64/float16 tensors are written as
float32, int64 ones (token ids, lengths; torch's default integer type) as int32 (a value outside
int32 is refused), so that the file says what the model reads.
"""
import sys

import torch

from pth_to_safetensors import load_state_dict, save_safetensors

INT32 = torch.iinfo(torch.int32)


def as_input(name, t):
    t = t.detach().cpu()
    if t.dtype == torch.bool:
        return t
    if t.is_floating_point():
        return t.to(torch.float32)
    if t.numel() and (t.min() < INT32.min or t.max() > INT32.max):
        raise SystemExit(f"{name}: holds values outside int32, which Tessera's integer inputs are")
    return t.to(torch.int32)


def save_inputs(tensors, path):
    """Writes {input name: tensor} to `path` as safetensors, in the dtypes Tessera reads."""
    return save_safetensors({name: as_input(name, t) for name, t in tensors.items()}, path, {"source": "save_inputs.py"})


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    n, size = save_inputs(load_state_dict(argv[0]), argv[1])
    print(f"wrote {n} inputs ({size} bytes of data) to {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
