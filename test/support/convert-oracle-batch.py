#!/usr/bin/env python3
"""Runs shared/tools/convert-oracle/run-convert.py on several folders in one Python process, so torch
is imported once. Usage: convert-oracle-batch.py RUN_CONVERT_PY LLAMA_SRC JOBS.json, where JOBS.json
is a list of {"model": DIR, "out": FILE, "args": [...]}. Prints one line: BATCH-RESULTS [null | "error", ...].
"""
import json
import runpy
import sys

wrapper, llama_src, jobs_file = sys.argv[1], sys.argv[2], sys.argv[3]
with open(jobs_file, encoding="utf-8") as f:
    jobs = json.load(f)
results = []
for job in jobs:
    sys.argv = [wrapper, llama_src, job["model"], "--outfile", job["out"], *job["args"]]
    try:
        runpy.run_path(wrapper, run_name="__main__")
        results.append(None)
    except SystemExit as e:
        results.append(None if e.code in (None, 0) else f"exit status {e.code}")
    except BaseException as e:  # the converter's own errors (ValueError, NotImplementedError, ...)
        results.append(f"{type(e).__name__}: {e}")
print("BATCH-RESULTS " + json.dumps(results), flush=True)
