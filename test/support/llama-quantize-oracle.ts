// The file-parity oracle: llama.cpp's own llama_model_quantize (libllama of the reference build),
// called through koffi. Tests compare our output files against what it writes.
// `loadQuantizeOracle()` returns undefined where the prebuilt libraries cannot be had (see oracle.ts).

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadOracle, oracleUnavailableReason } from './oracle.ts';

export interface OracleKvOverride {
  key: string;
  type: 'int' | 'float' | 'bool' | 'str';
  value: bigint | number | boolean | string;
}

export interface OracleQuantizeParams {
  /** llama_ftype id. */
  ftype: number;
  nthread?: number;
  outputTensorType?: number;
  tokenEmbeddingType?: number;
  allowRequantize?: boolean;
  /** false = --leave-output-tensor. */
  quantizeOutputTensor?: boolean;
  onlyCopy?: boolean;
  pure?: boolean;
  dryRun?: boolean;
  /** As llama_model_quantize takes them: patterns used as given (llama-quantize lower-cases them first). */
  tensorTypes?: Array<{ pattern: string; type: number }>;
  kvOverrides?: OracleKvOverride[];
  imatrix?: Map<string, Float32Array>;
}

export interface QuantizeOracle {
  /** Runs llama_model_quantize; resolves to the error lines it logged when it returns non-zero. */
  quantize(input: string, output: string, params: OracleQuantizeParams): { ok: boolean; log: string };
}

const GGML_TYPE_COUNT = 43;
const KV_TAG = { int: 0, float: 1, bool: 2, str: 3 } as const;

let cached: { oracle?: QuantizeOracle; reason?: string } | undefined;

export function quantizeOracleUnavailableReason(): string | undefined {
  loadQuantizeOracle();
  return cached?.reason;
}

export function loadQuantizeOracle(): QuantizeOracle | undefined {
  if (cached) return cached.oracle;
  const base = loadOracle();
  if (!base) {
    cached = { reason: oracleUnavailableReason() ?? 'llama.cpp oracle unavailable' };
    return undefined;
  }
  const libName = readdirSync(base.libDir).find((f) => /^libllama(\.v[\d.]+)?\.so$/.test(f));
  if (!libName || !existsSync(join(base.libDir, libName))) throw new Error(`libllama not found in ${base.libDir}`);
  // koffi's own types are not exported as TypeScript; its API is used through this narrow view.
  const koffi = base.koffi as KoffiLike;
  const lib = koffi.load(join(base.libDir, libName));

  const TensorOverride = koffi.struct('qf_llama_model_tensor_override', { pattern: 'const char *', type: 'int' });
  const ImatrixData = koffi.struct('qf_llama_model_imatrix_data', { name: 'const char *', data: 'const float *', size: 'size_t' });
  const KvValue = koffi.union('qf_llama_kv_value', { val_i64: 'int64_t', val_f64: 'double', val_bool: 'bool', val_str: 'char[128]' });
  const KvOverride = koffi.struct('qf_llama_model_kv_override', { tag: 'int', key: 'char[128]', value: KvValue });
  const Params = koffi.struct('qf_llama_model_quantize_params', {
    nthread: 'int32_t', ftype: 'int32_t', output_tensor_type: 'int32_t', token_embedding_type: 'int32_t',
    allow_requantize: 'bool', quantize_output_tensor: 'bool', only_copy: 'bool', pure: 'bool', keep_split: 'bool', dry_run: 'bool',
    imatrix: koffi.pointer(ImatrixData), kv_overrides: koffi.pointer(KvOverride), tt_overrides: koffi.pointer(TensorOverride),
    prune_layers: 'const int32_t *', max_buf_size: 'size_t',
  });
  if (koffi.sizeof(Params) !== 64) throw new Error(`llama_model_quantize_params is ${koffi.sizeof(Params)} bytes, expected 64`);
  if (koffi.sizeof(KvOverride) !== 264) throw new Error(`llama_model_kv_override is ${koffi.sizeof(KvOverride)} bytes, expected 264`);

  const backendInit = lib.func('void llama_backend_init(void)');
  const defaultParams = lib.func('qf_llama_model_quantize_params llama_model_quantize_default_params(void)');
  const modelQuantize = lib.func('uint32_t llama_model_quantize(const char *fname_inp, const char *fname_out, const qf_llama_model_quantize_params *params)');
  const LogCallback = koffi.proto('void qf_ggml_log_callback(int level, const char *text, void *user_data)');
  const logSet = lib.func('void llama_log_set(qf_ggml_log_callback *cb, void *user_data)');

  // Keep llama.cpp's chatter out of the test output, but keep it for error messages.
  let logText = '';
  const logCb = koffi.register((level: number, text: string) => {
    if (level >= 3) logText += text; // 3 = GGML_LOG_LEVEL_WARN, 4 = ERROR, 5 = CONT
  }, koffi.pointer(LogCallback));
  logSet(logCb, null);
  backendInit();

  const oracle: QuantizeOracle = {
    quantize(input, output, p) {
      const params = defaultParams() as Record<string, unknown>;
      params.ftype = p.ftype;
      params.nthread = p.nthread ?? 1;
      params.output_tensor_type = p.outputTensorType ?? GGML_TYPE_COUNT;
      params.token_embedding_type = p.tokenEmbeddingType ?? GGML_TYPE_COUNT;
      params.allow_requantize = p.allowRequantize ?? false;
      params.quantize_output_tensor = p.quantizeOutputTensor ?? true;
      params.only_copy = p.onlyCopy ?? false;
      params.pure = p.pure ?? false;
      params.dry_run = p.dryRun ?? false;
      if (p.tensorTypes?.length) {
        params.tt_overrides = [...p.tensorTypes.map((t) => ({ pattern: t.pattern, type: t.type })), { pattern: null, type: GGML_TYPE_COUNT }];
      }
      if (p.kvOverrides?.length) {
        const entries = p.kvOverrides.map((o) => {
          const value: Record<string, unknown> = {};
          if (o.type === 'int') value.val_i64 = BigInt(o.value as bigint | number);
          else if (o.type === 'float') value.val_f64 = Number(o.value);
          else if (o.type === 'bool') value.val_bool = Boolean(o.value);
          else value.val_str = String(o.value);
          return { tag: KV_TAG[o.type], key: o.key, value };
        });
        params.kv_overrides = [...entries, { tag: 0, key: '', value: { val_i64: 0n } }];
      }
      if (p.imatrix?.size) {
        params.imatrix = [
          ...[...p.imatrix].map(([name, data]) => ({ name, data, size: data.length })),
          { name: null, data: null, size: 0 },
        ];
      }
      logText = '';
      const rc = modelQuantize(input, output, params) as number;
      return { ok: rc === 0, log: logText };
    },
  };
  cached = { oracle };
  return oracle;
}

/** The part of koffi's API used here (koffi ships no TypeScript types for these call shapes). */
interface KoffiLike {
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
  struct(name: string, fields: Record<string, unknown>): unknown;
  union(name: string, fields: Record<string, unknown>): unknown;
  pointer(type: unknown): unknown;
  proto(signature: string): unknown;
  register(fn: (...args: never[]) => void, type: unknown): unknown;
  sizeof(type: unknown): number;
}
