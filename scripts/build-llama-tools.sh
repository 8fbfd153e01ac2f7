#!/usr/bin/env bash
# Builds llama.cpp's llama-perplexity and llama-imatrix from the source node-llama-cpp ships (the
# release its prebuilt libraries come from), for the engine's comparison tests and `npm run bench`.
# Output: $QUANTFIT_LLAMA_TOOLS (default ~/.cache/quantfit/llama-tools/<release>)/build/bin, outside
# the repo so CI can keep it between runs. Does nothing when both tools are already there.
# Needs git, cmake and a C++ compiler; ~5–8 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
llama="$root/node_modules/node-llama-cpp/llama"
release="$(node -p "require('$llama/llama.cpp.info.json').tag")"
out="${QUANTFIT_LLAMA_TOOLS:-$HOME/.cache/quantfit/llama-tools/$release}"
bin="$out/build/bin"
if [ -x "$bin/llama-perplexity" ] && [ -x "$bin/llama-imatrix" ]; then
  echo "llama.cpp tools $release: $bin"
  exit 0
fi
mkdir -p "$out"
if [ ! -d "$out/src/.git" ]; then
  rm -rf "$out/src"
  git clone -q "$llama/gitRelease.bundle" "$out/src"
fi
cmake -S "$out/src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_OPENSSL=OFF -DGGML_CCACHE=OFF >/dev/null
cmake --build "$out/build" --target llama-perplexity llama-imatrix -j "$(nproc)" >/dev/null
echo "llama.cpp tools $release: $bin"
