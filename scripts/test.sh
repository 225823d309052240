#!/usr/bin/env bash
# The whole test suite on a fresh machine: set up, type-check and test every package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx --yes pnpm@10.34.9 test
