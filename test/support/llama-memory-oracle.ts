// What the reference llama.cpp itself reserves for a context: loads a model with no_alloc (metadata
// only, so a sparse file of a full-size model works), creates a context and reads the KV cache and
// compute buffer sizes from llama.cpp's own log. Through koffi on the oracle's libllama (linux-x64).
// Struct layouts follow include/llama.h of the reference build (commit 0ad4a86).

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadOracle, oracleUnavailableReason } from './oracle.ts';

const require = createRequire(import.meta.url);

export interface LlamaContextMemory {
  /** Sum of every KV cache's "size" (MiB, as logged with 2 decimals): full and SWA caches. */
  readonly kvMiB: number;
  /** Each cache's cells, in log order (one entry without SWA; non-SWA then SWA with it). */
  readonly kvCells: readonly number[];
  /** The CPU backend's compute buffer (MiB, 2 decimals). */
  readonly computeMiB: number;
  /** The model's weight buffers by buffer type (MiB, 2 decimals): CPU_Mapped, CPU_REPACK, ... */
  readonly modelMiB: Readonly<Record<string, number>>;
}

interface Binding {
  contextMemory(path: string, nCtx: number, flashAttn: boolean, swaFull: boolean, nOutputsMax: number, load: boolean): LlamaContextMemory;
}

let binding: Binding | undefined;

export function llamaMemoryUnavailableReason(): string | undefined {
  return oracleUnavailableReason();
}

function bind(): Binding {
  if (binding) return binding;
  const oracle = loadOracle();
  if (!oracle) throw new Error(oracleUnavailableReason() ?? 'oracle unavailable');
  const koffi = require('koffi') as typeof import('koffi');
  const ggml = koffi.load(join(oracle.libDir, 'libggml.v0.5.0.so'));
  const llama = koffi.load(join(oracle.libDir, 'libllama.v0.5.0.so'));
  const ModelParams = koffi.struct('qf_llama_model_params', {
    devices: 'void *', tensor_buft_overrides: 'void *', n_gpu_layers: 'int32', split_mode: 'int', load_mode: 'int', lazy_mode: 'int',
    main_gpu: 'int32', tensor_split: 'void *', progress_callback: 'void *', progress_callback_user_data: 'void *', kv_overrides: 'void *',
    vocab_only: 'bool', check_tensors: 'bool', use_extra_bufts: 'bool', no_host: 'bool', no_alloc: 'bool', load_mtp: 'bool',
  });
  const CtxParams = koffi.struct('qf_llama_context_params', {
    n_ctx: 'uint32', n_batch: 'uint32', n_ubatch: 'uint32', n_seq_max: 'uint32', n_rs_seq: 'uint32', n_outputs_max: 'uint32', n_outputs_max_per_seq: 'uint32',
    n_threads: 'int32', n_threads_batch: 'int32', ctx_type: 'int', rope_scaling_type: 'int', pooling_type: 'int', attention_type: 'int', flash_attn_type: 'int',
    rope_freq_base: 'float', rope_freq_scale: 'float', yarn_ext_factor: 'float', yarn_attn_factor: 'float', yarn_beta_fast: 'float', yarn_beta_slow: 'float',
    yarn_orig_ctx: 'uint32', defrag_thold: 'float', cb_eval: 'void *', cb_eval_user_data: 'void *', type_k: 'int', type_v: 'int',
    abort_callback: 'void *', abort_callback_data: 'void *', embeddings: 'bool', offload_kqv: 'bool', no_perf: 'bool', op_offload: 'bool', swa_full: 'bool', kv_unified: 'bool',
    samplers: 'void *', n_samplers: 'size_t', ctx_other: 'void *',
  });
  const LogCallback = koffi.proto('void qf_llama_log_cb(int level, const char *text, void *user_data)');
  const logSet = llama.func('void llama_log_set(qf_llama_log_cb *cb, void *user_data)');
  const loadAll = ggml.func('void ggml_backend_load_all_from_path(const char *dir)');
  const backendInit = llama.func('void llama_backend_init(void)');
  const modelDefaults = llama.func('qf_llama_model_params llama_model_default_params(void)');
  const contextDefaults = llama.func('qf_llama_context_params llama_context_default_params(void)');
  const loadModel = llama.func('void *llama_model_load_from_file(const char *path, qf_llama_model_params params)');
  const initContext = llama.func('void *llama_init_from_model(void *model, qf_llama_context_params params)');
  const freeContext = llama.func('void llama_free(void *ctx)');
  const freeModel = llama.func('void llama_model_free(void *model)');

  let log = '';
  // Kept referenced for the life of the process: llama.cpp holds the pointer.
  const callback = koffi.register((_level: number, text: string) => { log += text; }, koffi.pointer(LogCallback));
  logSet(callback, null);
  loadAll(oracle.libDir);
  backendInit();
  const LLAMA_LOAD_MODE_NONE = 0;

  binding = {
    contextMemory(path, nCtx, flashAttn, swaFull, nOutputsMax, load) {
      log = '';
      const mp = { ...(modelDefaults() as object), n_gpu_layers: 0, ...(load ? {} : { no_alloc: true, load_mode: LLAMA_LOAD_MODE_NONE }) };
      const model = loadModel(path, mp) as unknown;
      if (!model) throw new Error(`llama.cpp could not load ${path}:\n${log.slice(-2000)}`);
      try {
        const cp = { ...(contextDefaults() as object), n_ctx: nCtx, flash_attn_type: flashAttn ? 1 : 0, swa_full: swaFull, n_outputs_max: nOutputsMax, n_threads: 1, n_threads_batch: 1 };
        const ctx = initContext(model, cp) as unknown;
        if (!ctx) throw new Error(`llama.cpp could not create a context:\n${log.slice(-2000)}`);
        freeContext(ctx);
      } finally {
        freeModel(model);
      }
      const sizes = [...log.matchAll(/llama_kv_cache: size =\s*([\d.]+) MiB \(\s*(\d+) cells/g)];
      const compute = /CPU compute buffer size =\s*([\d.]+) MiB/.exec(log);
      const modelMiB: Record<string, number> = {};
      for (const m of log.matchAll(/(\S+) model buffer size =\s*([\d.]+) MiB/g)) modelMiB[m[1]!] = (modelMiB[m[1]!] ?? 0) + Number(m[2]);
      if (sizes.length === 0 || !compute) throw new Error(`no KV/compute sizes in llama.cpp's log:\n${log.slice(-2000)}`);
      return {
        kvMiB: sizes.reduce((s, m) => s + Number(m[1]), 0),
        kvCells: sizes.map((m) => Number(m[2])),
        computeMiB: Number(compute[1]),
        modelMiB,
      };
    },
  };
  return binding;
}

/**
 * KV cache and compute buffer llama.cpp reserves for `path` at `nCtx` (CPU backend, one sequence).
 * `load`: really load the weights (mmap, as llama-server) so that the model buffers (CPU_Mapped,
 * CPU_REPACK) have their sizes; by default nothing is loaded (no_alloc) and a sparse file will do.
 * swa_full defaults to off as in llama-server/llama-cli (the C API's own default is on). `outputs`: the
 * most logits one micro-batch may ask for (n_outputs_max; default 0 = n_batch, every token): 1 gives the
 * graph of a prompt whose last token alone is sampled, as in chat.
 */
export function llamaContextMemory(path: string, nCtx: number, options: { flashAttn?: boolean; swaFull?: boolean; outputs?: number; load?: boolean } = {}): LlamaContextMemory {
  return bind().contextMemory(path, nCtx, options.flashAttn === true, options.swaFull === true, options.outputs ?? 0, options.load === true);
}
