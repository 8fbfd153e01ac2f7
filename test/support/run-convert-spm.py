#!/usr/bin/env python3
"""Runs ../shared's run-convert.py (llama.cpp's convert_hf_to_gguf.py) with one change for tests:
TextModel.set_vocab, the GPT-2 BPE path that needs `transformers`, reads the folder's SentencePiece
tokenizer.model instead. Architectures that keep TextModel's set_vocab (Qwen3-MoE) then convert a
synthetic folder with Llama 2's tokenizer; everything but the tokenizer keys is the converter's own.

    python3 run-convert-spm.py RUN_CONVERT_PY LLAMA_CPP_DIR MODEL_DIR --outtype T --outfile OUT
"""
import os
import runpy
import sys

import torch

for name in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"):
    if not hasattr(torch, name):
        setattr(torch, name, torch.uint8)

wrapper = os.path.abspath(sys.argv[1])
llama_cpp = os.path.abspath(sys.argv[2])
sys.path[:0] = [llama_cpp, os.path.join(llama_cpp, "gguf-py"), os.path.join(os.path.dirname(wrapper), "stub")]

import conversion.base as base  # noqa: E402

base.TextModel.set_vocab = lambda self: self._set_vocab_sentencepiece()
sys.argv = [wrapper] + sys.argv[2:]
runpy.run_path(wrapper, run_name="__main__")
