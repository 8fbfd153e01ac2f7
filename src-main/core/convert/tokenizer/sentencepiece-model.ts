// A strict, bounded reader of SentencePiece's tokenizer.model: a protobuf `ModelProto`
// (sentencepiece_model.proto). Only what conversion needs is decoded — the pieces (text, score, type)
// and the trainer's model type; every other field is skipped by its wire type. Every length is checked
// against the bytes that remain before anything is allocated, so a corrupt file fails in one clear
// line instead of allocating or looping.

import { quantfitError } from '../../errors.ts';
import type { Message } from '../../../../src-shared/message.ts';
import { msg } from '../../../../src-shared/messages/index.ts';
import { TokenType, type TokenTypeId } from './token-types.ts';

/**
 * SentencePiece's piece types (ModelProto.SentencePiece.Type); NORMAL is the proto default. gguf's token
 * types are these very ids (the converter's SentencePieceTokenTypes mirrors the proto), so one table serves both.
 */
export const PieceType = TokenType;
export type PieceTypeId = TokenTypeId;

/** TrainerSpec.ModelType; UNIGRAM is the proto default. */
export const SentencePieceModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

export interface SentencePiece {
  readonly piece: string;
  /** A float32 in the file; held exactly as a number. */
  readonly score: number;
  readonly type: PieceTypeId;
}

export interface SentencePieceModel {
  readonly pieces: readonly SentencePiece[];
  readonly modelType: number;
}

/** Real models are 0.5–5 MB (Gemma's 256k vocabulary is 4.2 MB); far larger is not a tokenizer.model. */
export const MAX_SENTENCEPIECE_MODEL_BYTES = 64 * 1024 * 1024;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

class Cursor {
  pos: number;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
    readonly file: string,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(what: Message): never {
    throw quantfitError('tokenizer.spmCorrupt', { detail: what }, { file: this.file, offset: this.pos });
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /**
   * A varint of at most 10 bytes, as a number. Past 2^53 it is inexact — negative int32 fields such as
   * pad_id = -1 are 10-byte varints — which is harmless: every value used here is range-checked.
   */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(msg('tokenizer.spm.truncated'));
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    this.fail(msg('tokenizer.spm.truncated'));
  }

  /** The [start, end) of a length-delimited field's payload, checked against what remains. */
  lengthDelimited(): [number, number] {
    const len = this.varint();
    if (len > this.end - this.pos) this.fail(msg('tokenizer.spm.fieldPastEnd', { length: len }));
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  float32(): number {
    if (this.end - this.pos < 4) this.fail(msg('tokenizer.spm.truncated'));
    const value = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return value;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) this.fail(msg('tokenizer.spm.truncated'));
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) this.fail(msg('tokenizer.spm.truncated'));
        this.pos += 4;
        return;
      default:
        this.fail(msg('tokenizer.spm.wireType', { wire: wireType }));
    }
  }

  /** The next field's (number, wire type). */
  tag(): [number, number] {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    if (field === 0 || tag > 0xffffffff) this.fail(msg('tokenizer.spm.badTag', { tag }));
    return [field, tag & 7];
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readPiece(c: Cursor, start: number, end: number): SentencePiece {
  const m: Cursor = new Cursor(c.bytes, start, end, c.file);
  let piece: string | undefined;
  let score = 0;
  let type: number = PieceType.NORMAL;
  while (!m.atEnd()) {
    const [field, wire] = m.tag();
    if (field === 1 && wire === WIRE_LEN) {
      const [s, e] = m.lengthDelimited();
      try {
        piece = utf8.decode(m.bytes.subarray(s, e));
      } catch {
        m.pos = s;
        m.fail(msg('tokenizer.spm.notUtf8'));
      }
    } else if (field === 2 && wire === WIRE_FIXED32) {
      score = m.float32();
    } else if (field === 3 && wire === WIRE_VARINT) {
      type = m.varint();
      if (type < PieceType.NORMAL || type > PieceType.BYTE) m.fail(msg('tokenizer.spm.pieceType', { type }));
    } else if (field <= 3) {
      m.fail(msg('tokenizer.spm.wireType', { wire }));
    } else {
      m.skip(wire);
    }
  }
  if (piece === undefined || piece.length === 0) return m.fail(msg('tokenizer.spm.emptyPiece'));
  return { piece, score, type: type as PieceTypeId };
}

function readModelType(c: Cursor, start: number, end: number): number {
  const m = new Cursor(c.bytes, start, end, c.file);
  let modelType: number = SentencePieceModelType.UNIGRAM;
  while (!m.atEnd()) {
    const [field, wire] = m.tag();
    if (field === 3 && wire === WIRE_VARINT) modelType = m.varint();
    else m.skip(wire);
  }
  if (modelType < SentencePieceModelType.UNIGRAM || modelType > SentencePieceModelType.CHAR) {
    m.fail(msg('tokenizer.spm.modelType', { type: modelType }));
  }
  return modelType;
}

/**
 * Decodes a tokenizer.model. Checks what SentencePiece's own loader checks before the converter can
 * use a model: at least one piece, exactly one UNKNOWN piece, no empty or repeated piece text.
 */
export function parseSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  const c = new Cursor(bytes, 0, bytes.length, file);
  if (bytes.length > MAX_SENTENCEPIECE_MODEL_BYTES) c.fail(msg('tokenizer.spm.tooLarge', { bytes: bytes.length }));
  const pieces: SentencePiece[] = [];
  let modelType: number = SentencePieceModelType.UNIGRAM;
  while (!c.atEnd()) {
    const [field, wire] = c.tag();
    if ((field === 1 || field === 2) && wire !== WIRE_LEN) c.fail(msg('tokenizer.spm.wireType', { wire }));
    if (field === 1) {
      const [s, e] = c.lengthDelimited();
      pieces.push(readPiece(c, s, e));
    } else if (field === 2) {
      const [s, e] = c.lengthDelimited();
      modelType = readModelType(c, s, e);
    } else {
      c.skip(wire);
    }
  }
  if (pieces.length === 0) c.fail(msg('tokenizer.spm.noPieces'));
  const seen = new Set<string>();
  let unknowns = 0;
  for (const p of pieces) {
    if (p.type === PieceType.UNKNOWN) unknowns++;
    if (seen.has(p.piece)) c.fail(msg('tokenizer.spm.duplicate', { piece: JSON.stringify(p.piece) }));
    seen.add(p.piece);
  }
  if (unknowns !== 1) c.fail(msg(unknowns === 0 ? 'tokenizer.spm.noUnknown' : 'tokenizer.spm.manyUnknown'));
  return { pieces, modelType };
}
