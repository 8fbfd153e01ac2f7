// The converted model as a tensor source: the GGUF header the converter would write, and its tensor
// data computed on demand from the safetensors rows (permuted, stacked, converted). The quantizer
// pipeline reads it exactly like a GGUF file, so a folder is quantized in one streaming pass.

import { QuantfitError } from '../errors.ts';
import type { GgufHeader, GgufTensorInfo } from '../gguf/types.ts';
import { convertElements, OUT_ELEMENT_BYTES, SOURCE_ELEMENT_BYTES } from './rows.ts';
import type { HfFolder } from './folder.ts';
import type { ConvTensor, Segment } from './arch/types.ts';

export interface PlannedOutput {
  readonly tensor: ConvTensor;
  /** ggml output type (F32, F16 or BF16). */
  readonly type: number;
}

/** The largest span of source rows read at once for a permuted segment beyond the rows asked for. */
const SPAN_SLACK_BYTES = 16 << 20;

export class ConvertedSource {
  private closed = false;
  private readonly byInfo = new Map<GgufTensorInfo, PlannedOutput>();

  constructor(readonly header: GgufHeader, private readonly outputs: readonly PlannedOutput[], private readonly folder: HfFolder) {
    header.tensors.forEach((t, i) => this.byInfo.set(t, outputs[i]!));
  }

  /** Bytes [byteStart, byteStart + byteLength) of an output tensor; whole rows only. */
  async read(tensor: GgufTensorInfo, byteStart: number, byteLength: number, target?: Uint8Array): Promise<Uint8Array> {
    const plan = this.byInfo.get(tensor);
    const file = this.header.path;
    if (this.closed) throw new QuantfitError('source is closed', { file, tensor: tensor.name });
    if (!plan) throw new QuantfitError('not a tensor of this conversion', { file, tensor: tensor.name });
    const rowBytes = tensor.shape[0]! * OUT_ELEMENT_BYTES[plan.type]!;
    if (byteStart < 0 || byteLength < 0 || byteStart + byteLength > tensor.byteSize || byteStart % rowBytes !== 0 || byteLength % rowBytes !== 0) {
      throw new QuantfitError(`byte range ${byteStart}+${byteLength} is not whole rows of the tensor's ${tensor.byteSize} bytes`, { file, tensor: tensor.name });
    }
    if (target && target.length < byteLength) throw new QuantfitError(`target buffer holds ${target.length} bytes, ${byteLength} needed`, { file, tensor: tensor.name });
    const out = target ? target.subarray(0, byteLength) : new Uint8Array(byteLength);
    const t = plan.tensor;
    if (t.data) {
      convertElements('F32', new Uint8Array(t.data.buffer, t.data.byteOffset + byteStart, byteLength), plan.type, out, byteLength / 4);
      return out;
    }
    let row = byteStart / rowBytes;
    const end = row + byteLength / rowBytes;
    let segStart = 0;
    for (const seg of t.segments ?? []) {
      const segEnd = segStart + seg.rows;
      if (row < segEnd && row < end) {
        const upTo = Math.min(end, segEnd);
        await this.readSegmentRows(seg, row - segStart, upTo - segStart, plan, out.subarray((row * rowBytes) - byteStart, (upTo * rowBytes) - byteStart), tensor.shape[0]!);
        row = upTo;
      }
      segStart = segEnd;
    }
    return out;
  }

  /** Output rows [r0, r1) of one segment into `dst`. */
  private async readSegmentRows(seg: Segment, r0: number, r1: number, plan: PlannedOutput, dst: Uint8Array, ne0: number): Promise<void> {
    const src = seg.src;
    const elemBytes = SOURCE_ELEMENT_BYTES[src.info.dtype]!;
    const srcRowBytes = ne0 * elemBytes;
    const outRowBytes = ne0 * OUT_ELEMENT_BYTES[plan.type]!;
    if (!seg.permuteHeads) {
      const bytes = await src.file.read(src.info, r0 * srcRowBytes, (r1 - r0) * srcRowBytes);
      convertElements(src.info.dtype, bytes, plan.type, dst, (r1 - r0) * ne0, plan.tensor.addOne);
      return;
    }
    if (src.info.shape.length === 1) {
      // A permuted bias: the same permutation over elements (small; read whole).
      const all = await src.file.read(src.info, 0, src.info.byteSize);
      const n = src.info.shape[0]!;
      const per = n / seg.permuteHeads;
      const elems = new Uint8Array(all.length);
      for (let o = 0; o < n; o++) {
        const h = Math.floor(o / per);
        const w = o - h * per;
        const s = h * per + (w % 2) * (per / 2) + Math.floor(w / 2);
        elems.set(all.subarray(s * elemBytes, (s + 1) * elemBytes), o * elemBytes);
      }
      convertElements(src.info.dtype, elems, plan.type, dst, n, plan.tensor.addOne);
      return;
    }
    // Output row (head h, i, j) is source row (h, j, i): heads of 2 × half rows.
    const perHead = seg.rows / seg.permuteHeads;
    const half = perHead / 2;
    const srcRow = (r: number) => {
      const h = Math.floor(r / perHead);
      const w = r - h * perHead;
      return h * perHead + (w % 2) * half + Math.floor(w / 2);
    };
    let r = r0;
    while (r < r1) {
      // Read the source span of whole heads that covers as many output rows as the slack allows.
      const h0 = Math.floor(r / perHead);
      const headsFit = Math.max(1, Math.floor(SPAN_SLACK_BYTES / (perHead * srcRowBytes)));
      const upTo = Math.min(r1, (h0 + headsFit) * perHead);
      const spanStart = h0 * perHead;
      const spanEnd = Math.min(seg.rows, Math.ceil(upTo / perHead) * perHead);
      const span = await src.file.read(src.info, spanStart * srcRowBytes, (spanEnd - spanStart) * srcRowBytes);
      for (let o = r; o < upTo; o++) {
        const s = srcRow(o) - spanStart;
        convertElements(src.info.dtype, span.subarray(s * srcRowBytes, (s + 1) * srcRowBytes), plan.type, dst.subarray((o - r0) * outRowBytes, (o - r0 + 1) * outRowBytes), ne0, plan.tensor.addOne);
      }
      r = upTo;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.folder.close();
  }
}
