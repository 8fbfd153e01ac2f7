// Real llama.cpp, from node-llama-cpp's prebuilt binaries (pinned 3.22.1, llama.cpp release v0.5.0),
// called through koffi: node-llama-cpp's own addon hides what evaluation and importance matrices need
// (every output's logits as floats, and llama.cpp's per-node evaluation callback).
//
// Struct layouts follow include/llama.h and ggml/include/ggml.h of that release; `assertPinnedLayout`
// checks them against the library's own defaults and a tensor it creates, and test/engine fails loudly
// when the pinned build changes. Decoding runs on koffi's worker thread (the event loop stays free for
// progress and cancel); callbacks from it are queued back to the JS thread.

import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import type * as Koffi from 'koffi';
import { CancelledError, errorMessage, quantfitError } from '../errors.ts';
import type { Message } from '../../../src-shared/message.ts';
import { msg } from '../../../src-shared/messages/index.ts';
import { unpackedPath } from '../asar-path.ts';

const require = createRequire(import.meta.url);
type NativeFunction = ReturnType<Koffi.LibraryHandle['func']>;

/** The llama.cpp release the struct layouts below were written for (node-llama-cpp 3.22.1). */
export const PINNED_LLAMA_RELEASE = 'v0.5.0';

/** node-llama-cpp's prebuilt packages that carry a CPU build, per platform-arch, best first. */
export const PREBUILT_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  'linux-x64': ['@node-llama-cpp/linux-x64'],
  'linux-arm64': ['@node-llama-cpp/linux-arm64'],
  'linux-arm': ['@node-llama-cpp/linux-armv7l'],
  'darwin-arm64': ['@node-llama-cpp/mac-arm64-metal'],
  'darwin-x64': ['@node-llama-cpp/mac-x64'],
  'win32-x64': ['@node-llama-cpp/win-x64'],
  'win32-arm64': ['@node-llama-cpp/win-arm64'],
};

const LIB_PATTERN = (name: string) => new RegExp(`^(lib)?${name}(\\.v[\\d.]+)?\\.(so|dylib|dll)$`);

export interface PrebuiltLlama {
  /** Directory holding libllama, libggml, libggml-base and the CPU backend variants. */
  readonly libDir: string;
  /** llama.cpp release the binaries were built from (from node-llama-cpp's build metadata). */
  readonly release: string;
}

/** Finds node-llama-cpp's prebuilt llama.cpp for this platform, or says why there is none. */
export function findPrebuiltLlama(): PrebuiltLlama | { unavailable: Message } {
  const key = `${process.platform}-${process.arch}`;
  const packages = PREBUILT_PACKAGES[key];
  if (!packages) return { unavailable: msg('engine.unavailable.noPrebuilt', { platform: key }) };
  for (const pkg of packages) {
    let entry: string;
    try {
      entry = require.resolve(pkg);
    } catch {
      continue;
    }
    // The package exports only dist/index.js; its libraries sit in bins/<name> beside dist/.
    const binsRoot = join(dirname(entry), '..', 'bins');
    if (!existsSync(binsRoot)) continue;
    for (const sub of readdirSync(binsRoot)) {
      // Packaged, the libraries are unpacked beside app.asar (electron-builder.yml): dlopen needs a real path.
      const libDir = unpackedPath(join(binsRoot, sub), existsSync);
      if (!readdirSync(libDir).some((f) => LIB_PATTERN('llama').test(f))) continue;
      let release = 'unknown';
      try {
        const meta = JSON.parse(readFileSync(join(libDir, '_nlcBuildMetadata.json'), 'utf8')) as { buildOptions?: { llamaCpp?: { release?: string } } };
        release = meta.buildOptions?.llamaCpp?.release ?? 'unknown';
      } catch {
        // No metadata: the layout check below still guards the bindings.
      }
      return { libDir, release };
    }
  }
  return { unavailable: msg('engine.unavailable.notInstalled', { platform: key, packages: packages.join(', ') }) };
}

/**
 * A folder holding another build of the same llama.cpp release (libllama, libggml, libggml-base and a
 * CPU backend), loaded instead of node-llama-cpp's prebuilt one: e.g. one compiled for this CPU, whose
 * F16/BF16/F32 matrix kernels run faster (scripts/build-llama-tools.sh builds one). The struct layout
 * check guards it as it guards the prebuilt build.
 */
export const LLAMA_LIB_DIR_ENV = 'QUANTFIT_LLAMA_LIB_DIR';

/** The llama.cpp to load: the folder $QUANTFIT_LLAMA_LIB_DIR names, else node-llama-cpp's prebuilt one. */
export function findLlamaLibraries(env: Readonly<Record<string, string | undefined>> = process.env): PrebuiltLlama | { unavailable: Message } {
  const dir = env[LLAMA_LIB_DIR_ENV];
  if (!dir) return findPrebuiltLlama();
  if (!existsSync(dir) || !readdirSync(dir).some((f) => LIB_PATTERN('llama').test(f))) {
    return { unavailable: msg('engine.unavailable.libDirEmpty', { variable: LLAMA_LIB_DIR_ENV, dir }) };
  }
  return { libDir: dir, release: 'unknown' };
}

function libraryPath(libDir: string, name: string): string {
  const file = readdirSync(libDir).find((f) => LIB_PATTERN(name).test(f));
  if (!file) throw quantfitError('engine.libraryMissing', { name, dir: libDir }, { file: libDir });
  return join(libDir, file);
}

const GGML_BACKEND_DEVICE_TYPE_CPU = 0;
// ggml_tensor (ggml.h): GGML_MAX_DIMS 4, GGML_MAX_OP_PARAMS 64, GGML_MAX_SRC 10, GGML_MAX_NAME 64.
const GGML_MAX_SRC = 10;

/** What the evaluation callback sees of a graph node (see LlamaContextOptions.onEval). */
export interface EvalNode {
  readonly pointer: bigint;
  readonly op: number;
  readonly type: number;
  readonly ne: readonly [number, number, number, number];
  readonly nb: readonly [number, number, number, number];
}

/** The bound library: raw functions and the helpers built on them. One per process. */
export interface LlamaBindings {
  readonly prebuilt: PrebuiltLlama;
  readonly koffi: typeof Koffi;
  /** ggml op ids by name (from ggml_op_name), e.g. MUL_MAT, MUL_MAT_ID. */
  readonly ops: ReadonlyMap<string, number>;
  readonly fn: Readonly<Record<string, NativeFunction>>;
  /** Address of ggml_is_empty, used as llama.cpp's abort callback (see LlamaContext.create). */
  readonly abortCheck: unknown;
  readonly types: {
    readonly tensor: Koffi.TypeObject;
    readonly modelParams: Koffi.TypeObject;
    readonly contextParams: Koffi.TypeObject;
    readonly batch: Koffi.TypeObject;
    readonly evalCallback: Koffi.TypeObject;
    readonly threadpoolNew: Koffi.TypeObject;
    readonly threadpoolFree: Koffi.TypeObject;
  };
  /** The last lines llama.cpp logged (for error messages). */
  recentLog(): string;
  /** Reads a ggml_tensor's header. */
  node(pointer: bigint): EvalNode;
  /** A ggml_tensor's op alone (the evaluation callback asks about every graph node). */
  nodeOp(pointer: bigint): number;
  /** A ggml_tensor's src[i], or null. */
  nodeSource(pointer: bigint, i: number): bigint | null;
  /** A ggml_tensor's name. */
  nodeName(pointer: bigint): string;
  /**
   * The bytes of a tensor's data: a view of the tensor's own memory when it is in a host buffer (valid
   * only while the evaluation callback runs: don't keep it), else a copy fetched through its backend.
   */
  nodeData(pointer: bigint, bytes: number): ArrayBuffer;
}

let bound: { bindings?: LlamaBindings; unavailable?: Message } | undefined;

/** Why llama.cpp cannot be loaded here, or undefined when it can. */
export function llamaUnavailableReason(): Message | undefined {
  if (!bound) {
    try {
      loadLlama();
    } catch (err) {
      if (!bound) bound = { unavailable: msg('engine.unavailable.loadFailed', { error: errorMessage(err) }) };
    }
  }
  return bound?.unavailable;
}

/** Loads and binds llama.cpp once per process; throws QuantfitError when it cannot. */
export function loadLlama(): LlamaBindings {
  if (bound?.bindings) return bound.bindings;
  if (bound?.unavailable) throw quantfitError('engine.unavailable', { reason: bound.unavailable });
  const found = findLlamaLibraries();
  if ('unavailable' in found) {
    bound = { unavailable: found.unavailable };
    return loadLlama();
  }
  let koffi: typeof Koffi;
  try {
    koffi = require('koffi') as typeof Koffi;
  } catch (err) {
    bound = { unavailable: msg('engine.unavailable.noKoffi', { error: errorMessage(err) }) };
    return loadLlama();
  }
  const bindings = bind(koffi, found);
  assertPinnedLayout(bindings);
  bound = { bindings };
  return bindings;
}

function bind(koffi: typeof Koffi, prebuilt: PrebuiltLlama): LlamaBindings {
  const ggmlBase = koffi.load(libraryPath(prebuilt.libDir, 'ggml-base'));
  const ggml = koffi.load(libraryPath(prebuilt.libDir, 'ggml'));
  const llama = koffi.load(libraryPath(prebuilt.libDir, 'llama'));

  const tensor = koffi.struct({
    type: 'int', buffer: 'void *', ne: koffi.array('int64_t', 4), nb: koffi.array('size_t', 4), op: 'int',
    op_params: koffi.array('int32_t', 16), flags: 'int32_t', src: koffi.array('void *', GGML_MAX_SRC), view_src: 'void *',
    view_offs: 'size_t', data: 'void *', name: koffi.array('char', 64, 'String'), extra: 'void *', padding: koffi.array('char', 8),
  });
  const modelParams = koffi.struct({
    devices: 'void *', tensor_buft_overrides: 'void *', n_gpu_layers: 'int32_t', split_mode: 'int', load_mode: 'int', lazy_mode: 'int',
    main_gpu: 'int32_t', tensor_split: 'void *', progress_callback: 'void *', progress_callback_user_data: 'void *', kv_overrides: 'void *',
    vocab_only: 'bool', check_tensors: 'bool', use_extra_bufts: 'bool', no_host: 'bool', no_alloc: 'bool', load_mtp: 'bool',
  });
  const contextParams = koffi.struct({
    n_ctx: 'uint32_t', n_batch: 'uint32_t', n_ubatch: 'uint32_t', n_seq_max: 'uint32_t', n_rs_seq: 'uint32_t', n_outputs_max: 'uint32_t',
    n_outputs_max_per_seq: 'uint32_t', n_threads: 'int32_t', n_threads_batch: 'int32_t', ctx_type: 'int', rope_scaling_type: 'int',
    pooling_type: 'int', attention_type: 'int', flash_attn_type: 'int', rope_freq_base: 'float', rope_freq_scale: 'float',
    yarn_ext_factor: 'float', yarn_attn_factor: 'float', yarn_beta_fast: 'float', yarn_beta_slow: 'float', yarn_orig_ctx: 'uint32_t',
    defrag_thold: 'float', cb_eval: 'void *', cb_eval_user_data: 'void *', type_k: 'int', type_v: 'int', abort_callback: 'void *',
    abort_callback_data: 'void *', embeddings: 'bool', offload_kqv: 'bool', no_perf: 'bool', op_offload: 'bool', swa_full: 'bool',
    kv_unified: 'bool', samplers: 'void *', n_samplers: 'size_t', ctx_other: 'void *',
  });
  const batch = koffi.struct({
    n_tokens: 'int32_t', token: 'void *', embd: 'void *', pos: 'void *', n_seq_id: 'void *', seq_id: 'void *', logits: 'void *',
  });
  const evalCallback = koffi.proto('bool', ['void *', 'bool', 'void *']);
  const logCallback = koffi.proto('void', ['int', 'str', 'void *']);

  const fn = {
    ggml_op_name: ggmlBase.func('ggml_op_name', 'str', ['int']),
    ggml_backend_buffer_is_host: ggmlBase.func('ggml_backend_buffer_is_host', 'bool', ['void *']),
    ggml_backend_tensor_get: ggmlBase.func('ggml_backend_tensor_get', 'void', ['void *', koffi.out('void *'), 'size_t', 'size_t']),
    ggml_init: ggmlBase.func('ggml_init', 'void *', [koffi.struct({ mem_size: 'size_t', mem_buffer: 'void *', no_alloc: 'bool' })]),
    ggml_free: ggmlBase.func('ggml_free', 'void', ['void *']),
    ggml_new_tensor_2d: ggmlBase.func('ggml_new_tensor_2d', 'void *', ['void *', 'int', 'int64_t', 'int64_t']),
    ggml_set_name: ggmlBase.func('ggml_set_name', 'void *', ['void *', 'str']),
    ggml_get_data: ggmlBase.func('ggml_get_data', 'void *', ['void *']),
    ggml_nbytes: ggmlBase.func('ggml_nbytes', 'size_t', ['void *']),
    ggml_tensor_overhead: ggmlBase.func('ggml_tensor_overhead', 'size_t', []),
    ggml_backend_load_all_from_path: ggml.func('ggml_backend_load_all_from_path', 'void', ['str']),
    ggml_backend_dev_by_type: ggml.func('ggml_backend_dev_by_type', 'void *', ['int']),
    ggml_backend_dev_backend_reg: ggmlBase.func('ggml_backend_dev_backend_reg', 'void *', ['void *']),
    ggml_backend_reg_get_proc_address: ggmlBase.func('ggml_backend_reg_get_proc_address', 'void *', ['void *', 'str']),
    ggml_threadpool_params_init: ggmlBase.func('ggml_threadpool_params_init', 'void', ['void *', 'int']),
    llama_log_set: llama.func('llama_log_set', 'void', [koffi.pointer(logCallback), 'void *']),
    llama_backend_init: llama.func('llama_backend_init', 'void', []),
    llama_model_default_params: llama.func('llama_model_default_params', modelParams, []),
    llama_context_default_params: llama.func('llama_context_default_params', contextParams, []),
    llama_model_load_from_file: llama.func('llama_model_load_from_file', 'void *', ['str', modelParams]),
    llama_model_free: llama.func('llama_model_free', 'void', ['void *']),
    llama_model_get_vocab: llama.func('llama_model_get_vocab', 'void *', ['void *']),
    llama_model_n_ctx_train: llama.func('llama_model_n_ctx_train', 'int32_t', ['void *']),
    llama_model_size: llama.func('llama_model_size', 'uint64_t', ['void *']),
    llama_vocab_n_tokens: llama.func('llama_vocab_n_tokens', 'int32_t', ['void *']),
    llama_vocab_get_add_bos: llama.func('llama_vocab_get_add_bos', 'bool', ['void *']),
    llama_vocab_get_add_eos: llama.func('llama_vocab_get_add_eos', 'bool', ['void *']),
    llama_vocab_bos: llama.func('llama_vocab_bos', 'int32_t', ['void *']),
    llama_tokenize: llama.func('llama_tokenize', 'int32_t', ['void *', 'void *', 'int32_t', koffi.out('void *'), 'int32_t', 'bool', 'bool']),
    llama_init_from_model: llama.func('llama_init_from_model', 'void *', ['void *', contextParams]),
    llama_free: llama.func('llama_free', 'void', ['void *']),
    llama_attach_threadpool: llama.func('llama_attach_threadpool', 'void', ['void *', 'void *', 'void *']),
    llama_n_ctx: llama.func('llama_n_ctx', 'uint32_t', ['void *']),
    llama_get_memory: llama.func('llama_get_memory', 'void *', ['void *']),
    llama_memory_clear: llama.func('llama_memory_clear', 'void', ['void *', 'bool']),
    llama_decode: llama.func('llama_decode', 'int32_t', ['void *', batch]),
    llama_get_logits: llama.func('llama_get_logits', 'void *', ['void *']),
  } satisfies Record<string, NativeFunction>;

  let log = '';
  // Registered for the life of the process: llama.cpp keeps the pointer. Only recent text is kept.
  const logCb = koffi.register((_level: number, text: string) => {
    log = (log + text).slice(-8000);
  }, koffi.pointer(logCallback));
  fn.llama_log_set(logCb, null);
  fn.ggml_backend_load_all_from_path(prebuilt.libDir);
  fn.llama_backend_init();

  const ops = new Map<string, number>();
  for (let op = 0; op < 200; op++) {
    const name = fn.ggml_op_name(op) as string | null;
    if (!name || ops.has(name)) break;
    ops.set(name, op);
  }

  const offsets = {
    op: koffi.offsetof(tensor, 'op'), type: koffi.offsetof(tensor, 'type'), ne: koffi.offsetof(tensor, 'ne'), nb: koffi.offsetof(tensor, 'nb'),
    src: koffi.offsetof(tensor, 'src'), name: koffi.offsetof(tensor, 'name'), data: koffi.offsetof(tensor, 'data'), buffer: koffi.offsetof(tensor, 'buffer'),
  };
  const readI64 = (p: bigint, off: number): number => Number(koffi.decode(p, off, 'int64_t'));
  const readPtr = (p: bigint, off: number): bigint | null => {
    const v = koffi.decode(p, off, 'void *') as bigint | null;
    return v === null || v === 0n ? null : BigInt(koffi.address(v));
  };

  return {
    prebuilt,
    koffi,
    ops,
    fn,
    abortCheck: ggmlBase.symbol('ggml_is_empty'),
    types: {
      tensor, modelParams, contextParams, batch, evalCallback,
      threadpoolNew: koffi.proto('void *ggml_threadpool_new_t(void *)'),
      threadpoolFree: koffi.proto('void ggml_threadpool_free_t(void *)'),
    },
    recentLog: () => log.slice(-2000),
    node(p) {
      return {
        pointer: p,
        op: koffi.decode(p, offsets.op, 'int') as number,
        type: koffi.decode(p, offsets.type, 'int') as number,
        ne: [readI64(p, offsets.ne), readI64(p, offsets.ne + 8), readI64(p, offsets.ne + 16), readI64(p, offsets.ne + 24)],
        nb: [readI64(p, offsets.nb), readI64(p, offsets.nb + 8), readI64(p, offsets.nb + 16), readI64(p, offsets.nb + 24)],
      };
    },
    nodeOp: (p) => koffi.decode(p, offsets.op, 'int') as number,
    nodeSource: (p, i) => readPtr(p, offsets.src + 8 * i),
    nodeName: (p) => koffi.decode(p, offsets.name, 'char', -1) as string,
    nodeData(p, bytes) {
      const buffer = readPtr(p, offsets.buffer);
      if (buffer !== null && (fn.ggml_backend_buffer_is_host(buffer) as boolean)) {
        const data = koffi.decode(p, offsets.data, 'void *') as unknown;
        if (data === null) throw new Error('host tensor without data');
        return koffi.view(data, bytes);
      }
      const out = new ArrayBuffer(bytes);
      fn.ggml_backend_tensor_get(p, out, 0, bytes);
      return out;
    },
  };
}

/**
 * Checks that the structs above match the loaded library: llama.cpp's own default parameters must
 * read back as include/llama.h documents them, and a ggml tensor the library creates must read back
 * with its shape, strides, name and data pointer. A changed build fails here, not with garbage.
 */
export function assertPinnedLayout(b: LlamaBindings): void {
  const { koffi, fn } = b;
  const problems: string[] = [];
  const cp = fn.llama_context_default_params() as Record<string, unknown>;
  const expectContext: Record<string, unknown> = {
    n_ctx: 512, n_batch: 2048, n_ubatch: 512, n_seq_max: 1, n_rs_seq: 0, n_outputs_max: 0, n_outputs_max_per_seq: 1,
    n_threads: 4, n_threads_batch: 4, flash_attn_type: -1, yarn_ext_factor: -1, defrag_thold: -1, cb_eval: null, type_k: 1, type_v: 1,
    abort_callback: null, embeddings: false, offload_kqv: true, no_perf: true, op_offload: true, swa_full: true, kv_unified: false, n_samplers: 0,
  };
  for (const [k, v] of Object.entries(expectContext)) if (cp[k] !== v) problems.push(`llama_context_params.${k} = ${String(cp[k])}, expected ${String(v)}`);
  if (koffi.sizeof(b.types.contextParams) !== 160) problems.push(`llama_context_params is ${koffi.sizeof(b.types.contextParams)} bytes, expected 160`);
  const mp = fn.llama_model_default_params() as Record<string, unknown>;
  const expectModel: Record<string, unknown> = {
    n_gpu_layers: -1, split_mode: 1, load_mode: -1, lazy_mode: 1, main_gpu: 0, vocab_only: false, check_tensors: false, use_extra_bufts: true, no_host: false, no_alloc: false, load_mtp: false,
  };
  for (const [k, v] of Object.entries(expectModel)) if (mp[k] !== v) problems.push(`llama_model_params.${k} = ${String(mp[k])}, expected ${String(v)}`);

  // GGML_OBJECT_SIZE (32) + GGML_TENSOR_SIZE.
  const overhead = Number(fn.ggml_tensor_overhead());
  if (overhead !== 32 + koffi.sizeof(b.types.tensor)) problems.push(`ggml_tensor_overhead() = ${overhead}, expected 32 + ${koffi.sizeof(b.types.tensor)}`);
  const ctx = fn.ggml_init({ mem_size: 4096, mem_buffer: null, no_alloc: false }) as bigint;
  try {
    const t = fn.ggml_new_tensor_2d(ctx, 0, 7, 3) as bigint;
    fn.ggml_set_name(t, 'quantfit.layout');
    const node = b.node(t);
    const want = { type: 0, ne: [7, 3, 1, 1], nb: [4, 28, 84, 84] };
    if (node.type !== want.type || node.ne.join() !== want.ne.join() || node.nb.join() !== want.nb.join()) {
      problems.push(`ggml_tensor reads type ${node.type} ne [${node.ne.join()}] nb [${node.nb.join()}], expected 0 [7,3,1,1] [4,28,84,84]`);
    }
    if (b.nodeName(t) !== 'quantfit.layout') problems.push(`ggml_tensor.name reads '${b.nodeName(t)}'`);
    const data = koffi.address(fn.ggml_get_data(t));
    const dataField = koffi.address(koffi.decode(t, koffi.offsetof(b.types.tensor, 'data'), 'void *'));
    if (data !== dataField) problems.push('ggml_tensor.data is not where ggml_get_data points');
    if (b.ops.get('MUL_MAT') === undefined || b.ops.get('MUL_MAT_ID') === undefined) problems.push('ggml has no MUL_MAT/MUL_MAT_ID op');
  } finally {
    fn.ggml_free(ctx);
  }
  if (problems.length > 0) {
    throw quantfitError(
      'engine.layoutMismatch',
      { dir: b.prebuilt.libDir, release: b.prebuilt.release, pinned: PINNED_LLAMA_RELEASE, problems: problems.join('; ') },
      { file: b.prebuilt.libDir },
    );
  }
}

export interface LlamaModelOptions {
  /** Layers offloaded to a GPU (-1 = all, llama.cpp's default; 0 = CPU only). */
  readonly gpuLayers?: number;
  /** The vocabulary alone (to tokenize): no weights are loaded, so a GGUF without tensors does. */
  readonly vocabOnly?: boolean;
}

/** A model loaded by llama.cpp. free() it when done. */
export class LlamaModel {
  readonly nVocab: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly bos: number;
  readonly nCtxTrain: number;
  private freed = false;

  private constructor(
    readonly bindings: LlamaBindings,
    readonly path: string,
    readonly pointer: bigint,
  ) {
    const { fn } = bindings;
    const vocab = fn.llama_model_get_vocab(pointer);
    this.vocab = vocab as bigint;
    this.nVocab = fn.llama_vocab_n_tokens(vocab) as number;
    this.addBos = fn.llama_vocab_get_add_bos(vocab) as boolean;
    this.addEos = fn.llama_vocab_get_add_eos(vocab) as boolean;
    this.bos = fn.llama_vocab_bos(vocab) as number;
    this.nCtxTrain = fn.llama_model_n_ctx_train(pointer) as number;
  }

  private readonly vocab: bigint;

  static async load(path: string, options: LlamaModelOptions = {}): Promise<LlamaModel> {
    const b = loadLlama();
    const params = {
      ...(b.fn.llama_model_default_params() as object),
      ...(options.gpuLayers === undefined ? {} : { n_gpu_layers: options.gpuLayers }),
      ...(options.vocabOnly === true ? { vocab_only: true } : {}),
    };
    const pointer = await callAsync<bigint | null>(b.fn.llama_model_load_from_file, path, params);
    if (!pointer) {
      throw quantfitError('engine.loadFailed', { detail: lastError(b.recentLog()) }, { file: path });
    }
    return new LlamaModel(b, path, pointer);
  }

  /** Tokens of `text` as llama.cpp's common_tokenize gives them (BOS when the vocab adds it; special tokens as text). */
  tokenize(text: string, addSpecial = true, parseSpecial = false): Int32Array {
    const bytes = Buffer.from(text, 'utf8');
    let out = new Int32Array(bytes.length + 2 * (addSpecial ? 1 : 0) + 1);
    let n = this.bindings.fn.llama_tokenize(this.vocab, bytes, bytes.length, out, out.length, addSpecial, parseSpecial) as number;
    if (n < 0) {
      out = new Int32Array(-n);
      n = this.bindings.fn.llama_tokenize(this.vocab, bytes, bytes.length, out, out.length, addSpecial, parseSpecial) as number;
    }
    if (n < 0) throw quantfitError('engine.tokenizeFailed', {}, { file: this.path });
    return out.slice(0, n);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.bindings.fn.llama_model_free(this.pointer);
  }
}

export interface LlamaContextOptions {
  /** KV cells: every sequence's context together. */
  readonly nCtx: number;
  /** Most tokens per decode (default nCtx). */
  readonly nBatch?: number;
  /** Parallel sequences (default 1). */
  readonly nSeq?: number;
  /** Most logits rows one decode produces (default nBatch); fewer keeps the output buffer small. */
  readonly maxOutputs?: number;
  /** Tokens per compute step (default 512, llama.cpp's). */
  readonly nUbatch?: number;
  /** CPU threads (default: every core). */
  readonly threads?: number;
  /**
   * llama.cpp's cb_eval: asked for every graph node (`ask` true: return whether to see its data), then
   * called with ask false once that node is computed. Runs on the JS thread while decode waits.
   */
  readonly onEval?: (node: bigint, ask: boolean) => boolean;
}

/** One llama_decode's tokens: position, sequence and whether it produces logits, per token. */
export interface DecodeBatch {
  readonly tokens: Int32Array;
  readonly pos: Int32Array;
  readonly seq: Int32Array;
  readonly output: Int8Array;
}

/** A llama_batch in memory of our own (koffi.alloc), sized once; seq_id[i] points at seqStore[i]. */
interface NativeBatch {
  readonly capacity: number;
  readonly token: unknown;
  readonly pos: unknown;
  readonly nSeqId: unknown;
  readonly seqStore: unknown;
  readonly seqIds: unknown;
  readonly logits: unknown;
}

function allocBatch(koffi: typeof Koffi, capacity: number): NativeBatch {
  const batch = {
    capacity,
    token: koffi.alloc('int32_t', capacity),
    pos: koffi.alloc('int32_t', capacity),
    nSeqId: koffi.alloc('int32_t', capacity),
    seqStore: koffi.alloc('int32_t', capacity),
    seqIds: koffi.alloc('void *', capacity),
    logits: koffi.alloc('int8_t', capacity),
  };
  koffi.encode(batch.nSeqId, 'int32_t', new Int32Array(capacity).fill(1), capacity);
  const store = BigInt(koffi.address(batch.seqStore));
  const pointers = new BigUint64Array(capacity);
  for (let i = 0; i < capacity; i++) pointers[i] = store + BigInt(4 * i);
  koffi.encode(batch.seqIds, 'uint64_t', pointers, capacity);
  return batch;
}

function freeBatch(koffi: typeof Koffi, batch: NativeBatch): void {
  for (const p of [batch.token, batch.pos, batch.nSeqId, batch.seqStore, batch.seqIds, batch.logits]) koffi.free(p);
}

/** A llama.cpp context. free() it when done. */
export class LlamaContext {
  readonly nCtx: number;
  readonly nBatch: number;
  /** Tokens per graph computation: llama.cpp cuts each decode's batch into micro-batches of at most this many. */
  readonly nUbatch: number;
  readonly nSeq: number;
  private readonly batch: NativeBatch;
  private readonly evalCallback: bigint | null;
  /** A fake ggml tensor header used as the abort flag (see create). */
  private readonly abortFlag: unknown;
  private readonly threadpool: CpuThreadpool | undefined;
  private freed = false;

  private constructor(
    readonly model: LlamaModel,
    readonly pointer: bigint,
    parts: { nBatch: number; nUbatch: number; nSeq: number; batch: NativeBatch; evalCallback: bigint | null; abortFlag: unknown; threadpool: CpuThreadpool | undefined },
  ) {
    this.nCtx = model.bindings.fn.llama_n_ctx(pointer) as number;
    this.nBatch = parts.nBatch;
    this.nUbatch = parts.nUbatch;
    this.nSeq = parts.nSeq;
    this.batch = parts.batch;
    this.evalCallback = parts.evalCallback;
    this.abortFlag = parts.abortFlag;
    this.threadpool = parts.threadpool;
  }

  static create(model: LlamaModel, options: LlamaContextOptions): LlamaContext {
    const b = model.bindings;
    const { koffi, fn } = b;
    const nBatch = options.nBatch ?? options.nCtx;
    const nSeq = options.nSeq ?? 1;
    const nUbatch = Math.min(options.nUbatch ?? 512, nBatch);
    const threads = options.threads ?? availableParallelism();
    const evalCallback = options.onEval
      ? koffi.register((t: unknown, ask: boolean) => options.onEval!(BigInt(koffi.address(t)), ask), koffi.pointer(b.types.evalCallback))
      : null;
    // Abort without a JS call per graph node: llama.cpp calls abort_callback(data) between nodes, and
    // ggml_is_empty(tensor) is true once any ne[i] is 0. The flag is a tensor header with ne = 1,1,1,1;
    // abort() zeroes ne[0] from the JS thread while decode runs on a worker thread.
    const tensorSize = koffi.sizeof(b.types.tensor);
    const abortFlag = koffi.alloc('uint8_t', tensorSize);
    koffi.encode(abortFlag, 0, 'uint8_t', new Uint8Array(tensorSize), tensorSize);
    koffi.encode(abortFlag, koffi.offsetof(b.types.tensor, 'ne'), 'int64_t', [1n, 1n, 1n, 1n], 4);
    // As llama.cpp's tools set them (common_params): a full-size SWA cache only on request.
    const params = {
      ...(fn.llama_context_default_params() as object),
      n_ctx: options.nCtx, n_batch: nBatch, n_ubatch: nUbatch, n_seq_max: nSeq,
      n_outputs_max: options.maxOutputs ?? nBatch, n_threads: threads, n_threads_batch: threads, swa_full: false,
      cb_eval: evalCallback, cb_eval_user_data: null, abort_callback: b.abortCheck, abort_callback_data: abortFlag,
    };
    const pointer = fn.llama_init_from_model(model.pointer, params) as bigint | null;
    if (!pointer) {
      if (evalCallback !== null) koffi.unregister(evalCallback);
      koffi.free(abortFlag);
      throw quantfitError('engine.contextFailed', { ctx: options.nCtx, detail: lastError(b.recentLog()) }, { file: model.path });
    }
    const threadpool = CpuThreadpool.create(b, threads);
    if (threadpool) fn.llama_attach_threadpool(pointer, threadpool.pointer, null);
    return new LlamaContext(model, pointer, { nBatch, nUbatch, nSeq, batch: allocBatch(koffi, nBatch), evalCallback, abortFlag, threadpool });
  }

  /** Empties the KV cache (the sequences that follow start fresh). */
  clear(): void {
    const fn = this.model.bindings.fn;
    fn.llama_memory_clear(fn.llama_get_memory(this.pointer), true);
  }

  /**
   * Evaluates one batch; the tokens marked `output` produce logits, in batch order, readable with
   * logits() until the next decode. Cancellable through `signal` (llama.cpp stops between nodes).
   */
  async decode(batch: DecodeBatch, signal?: AbortSignal): Promise<number> {
    const { koffi, fn } = this.model.bindings;
    const n = batch.tokens.length;
    if (n > this.batch.capacity) throw new Error(`decode: ${n} tokens exceed the batch of ${this.batch.capacity}`);
    let outputs = 0;
    for (let i = 0; i < n; i++) outputs += batch.output[i] !== 0 ? 1 : 0;
    koffi.encode(this.batch.token, 'int32_t', batch.tokens, n);
    koffi.encode(this.batch.pos, 'int32_t', batch.pos, n);
    koffi.encode(this.batch.seqStore, 'int32_t', batch.seq, n);
    koffi.encode(this.batch.logits, 'int8_t', batch.output, n);
    const native = { n_tokens: n, token: this.batch.token, embd: null, pos: this.batch.pos, n_seq_id: this.batch.nSeqId, seq_id: this.batch.seqIds, logits: this.batch.logits };
    const onAbort = () => this.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw new CancelledError();
      const rc = await callAsync<number>(fn.llama_decode, this.pointer, native);
      if (signal?.aborted) throw new CancelledError();
      if (rc !== 0) throw quantfitError('engine.decodeFailed', { rc, detail: lastError(this.model.bindings.recentLog()) }, { file: this.model.path });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return outputs;
  }

  /**
   * The logits of the last decode's outputs, `outputs × nVocab` floats, read in place in llama.cpp's
   * output buffer (no copy: for a 152K vocabulary a batch's logits are a gigabyte): valid until the next
   * decode or free(); copy what must outlive them.
   */
  logits(outputs: number): Float32Array {
    const { koffi, fn } = this.model.bindings;
    const p = fn.llama_get_logits(this.pointer) as unknown;
    return new Float32Array(koffi.view(p, outputs * this.model.nVocab * 4));
  }

  private abort(): void {
    const b = this.model.bindings;
    b.koffi.encode(this.abortFlag, b.koffi.offsetof(b.types.tensor, 'ne'), 'int64_t', 0n);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const { koffi, fn } = this.model.bindings;
    fn.llama_free(this.pointer);
    this.threadpool?.free();
    freeBatch(koffi, this.batch);
    if (this.evalCallback !== null) koffi.unregister(this.evalCallback);
    koffi.free(this.abortFlag);
  }
}

// ggml_threadpool_params (ggml.h): bool cpumask[GGML_MAX_N_THREADS = 512], int n_threads, int prio,
// uint32_t poll, bool strict_cpu, bool paused; 528 bytes with padding (more is allocated, harmless).
const THREADPOOL_PARAMS_BYTES = 1024;

/**
 * The CPU backend's persistent threadpool, attached to a context as llama.cpp's tools attach theirs
 * (common_threadpools). Without one, ggml starts and joins its threads for every graph computation,
 * and with an evaluation callback the graph is computed in one piece per node the callback wants.
 */
class CpuThreadpool {
  private constructor(
    private readonly b: LlamaBindings,
    readonly pointer: bigint,
    private readonly freeFn: bigint,
  ) {}

  /** A pool of `threads` threads, or undefined when the CPU backend does not offer one. */
  static create(b: LlamaBindings, threads: number): CpuThreadpool | undefined {
    const { koffi, fn } = b;
    const device = fn.ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!device) return undefined;
    const reg = fn.ggml_backend_dev_backend_reg(device);
    const newFn = fn.ggml_backend_reg_get_proc_address(reg, 'ggml_threadpool_new');
    const freeFn = fn.ggml_backend_reg_get_proc_address(reg, 'ggml_threadpool_free');
    if (!newFn || !freeFn) return undefined;
    const params = koffi.alloc('uint8_t', THREADPOOL_PARAMS_BYTES);
    try {
      koffi.encode(params, 'uint8_t', new Uint8Array(THREADPOOL_PARAMS_BYTES), THREADPOOL_PARAMS_BYTES);
      fn.ggml_threadpool_params_init(params, threads);
      const pool = koffi.call(newFn, b.types.threadpoolNew, params) as unknown;
      if (!pool) return undefined;
      return new CpuThreadpool(b, BigInt(koffi.address(pool)), BigInt(koffi.address(freeFn)));
    } finally {
      koffi.free(params);
    }
  }

  free(): void {
    this.b.koffi.call(this.freeFn, this.b.types.threadpoolFree, this.pointer);
  }
}

/** Runs a bound function on koffi's worker thread. */
function callAsync<T>(f: NativeFunction, ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    f.async(...args, (err: unknown, result: T) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)));
  });
}

/** The last error-ish line of llama.cpp's log, for a one-line message. */
function lastError(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
  const err = [...lines].reverse().find((l) => /error|failed|unable|invalid/i.test(l));
  return err ?? lines.at(-1) ?? 'no details logged';
}
