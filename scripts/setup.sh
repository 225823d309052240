#!/usr/bin/env bash
# Installs what Tessera needs on a fresh machine with Node.js 20 and npm:
# the workspace's packages (pnpm through npx), and, where apt is at hand as root, Debian's
# python3-onnx so that exported models are validated by onnx.checker, and chromium for the
# playground's browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM="npx --yes pnpm@10.34.9"

if ! /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing python3-onnx (Debian) for onnx.checker"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-onnx >/dev/null) \
      || echo "setup: could not install python3-onnx; ONNX files will not be checked by onnx.checker"
  else
    echo "setup: python3-onnx is not installed and apt-get is not usable here; ONNX files will not be checked by onnx.checker"
  fi
fi

# the playground's browser test drives Debian's Chromium (packages/playground)
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium (Debian) for the playground's browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: could not install chromium; the playground's browser test cannot run"
  else
    echo "setup: chromium is not installed and apt-get is not usable here; the playground's browser test cannot run"
  fi
fi

# Dependency build scripts stay off (pnpm's default): tfjs-node's would download libtensorflow
# and onnxruntime-node's CUDA binaries; the runtime falls back to the wasm backend.
$PNPM install --frozen-lockfile
