#!/usr/bin/env bash
# The main job on a fresh machine: compile a catalog model, run it on TensorFlow.js, export
# ONNX, check it, run it on ONNX Runtime and compare.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx --yes pnpm@10.34.9 demo
