// The little of Python's pickle format that ModelScope's cache index needs: its `.msc` file is a
// pickled list of {'Path': str, 'Revision': str} dicts and `.mdl` a pickled {'id': 'owner/name'}.
// Reading accepts what CPython writes for such values (protocols 2–5: frames, memo, short strings);
// writing uses protocol 2, which every Python 3 reads. Anything else is refused, never guessed.

export type PickleValue = string | number | boolean | null | PickleValue[] | { [key: string]: PickleValue };

const MARK = Symbol('mark');
type Item = PickleValue | typeof MARK;

export function unpickle(data: Uint8Array): PickleValue {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: Item[] = [];
  const memo = new Map<number, PickleValue>();
  const text = new TextDecoder();
  let i = 0;
  const popMark = (): Item[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new Error('pickle: no mark');
    return stack.splice(at).slice(1);
  };
  const top = (): PickleValue => {
    const v = stack.at(-1);
    if (v === undefined || v === MARK) throw new Error('pickle: empty stack');
    return v;
  };
  const str = (n: number) => {
    const s = text.decode(data.subarray(i, i + n));
    i += n;
    return s;
  };
  while (i < data.length) {
    const op = data[i++]!;
    switch (op) {
      case 0x80: i += 1; break; // PROTO
      case 0x95: i += 8; break; // FRAME
      case 0x5d: stack.push([]); break; // EMPTY_LIST ]
      case 0x7d: stack.push({}); break; // EMPTY_DICT }
      case 0x28: stack.push(MARK); break; // MARK (
      case 0x4e: stack.push(null); break; // NONE N
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(data[i++]!); break; // BININT1 K
      case 0x4d: stack.push(view.getUint16(i, true)); i += 2; break; // BININT2 M
      case 0x4a: stack.push(view.getInt32(i, true)); i += 4; break; // BININT J
      case 0x8c: { const n = data[i++]!; stack.push(str(n)); break; } // SHORT_BINUNICODE
      case 0x58: { const n = view.getUint32(i, true); i += 4; stack.push(str(n)); break; } // BINUNICODE X
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x71: memo.set(data[i++]!, top()); break; // BINPUT q
      case 0x72: memo.set(view.getUint32(i, true), top()); i += 4; break; // LONG_BINPUT r
      case 0x68: stack.push(memo.get(data[i++]!) ?? null); break; // BINGET h
      case 0x6a: stack.push(memo.get(view.getUint32(i, true)) ?? null); i += 4; break; // LONG_BINGET j
      case 0x61: { const v = stack.pop() as PickleValue; (top() as PickleValue[]).push(v); break; } // APPEND a
      case 0x65: { const items = popMark() as PickleValue[]; (top() as PickleValue[]).push(...items); break; } // APPENDS e
      case 0x73: { const v = stack.pop() as PickleValue; const k = stack.pop() as string; (top() as Record<string, PickleValue>)[k] = v; break; } // SETITEM s
      case 0x75: { const items = popMark(); const d = top() as Record<string, PickleValue>; for (let j = 0; j + 1 < items.length; j += 2) d[items[j] as string] = items[j + 1] as PickleValue; break; } // SETITEMS u
      case 0x2e: return top(); // STOP .
      default:
        throw new Error(`pickle: unsupported opcode 0x${op.toString(16)}`);
    }
  }
  throw new Error('pickle: no STOP');
}

/** Protocol 2 pickle of strings, lists and string-keyed dicts. */
export function pickle(value: PickleValue): Uint8Array {
  const out: number[] = [0x80, 2];
  const enc = new TextEncoder();
  const put = (v: PickleValue): void => {
    if (typeof v === 'string') {
      const b = enc.encode(v);
      out.push(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, (b.length >>> 24) & 0xff, ...b);
    } else if (v === null) out.push(0x4e);
    else if (typeof v === 'boolean') out.push(v ? 0x88 : 0x89);
    else if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new Error('pickle: only 32-bit integers');
      out.push(0x4a, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
    } else if (Array.isArray(v)) {
      out.push(0x5d);
      if (v.length > 0) {
        out.push(0x28);
        v.forEach(put);
        out.push(0x65);
      }
    } else {
      out.push(0x7d);
      const entries = Object.entries(v);
      if (entries.length > 0) {
        out.push(0x28);
        for (const [k, x] of entries) {
          put(k);
          put(x);
        }
        out.push(0x75);
      }
    }
  };
  put(value);
  out.push(0x2e);
  return Uint8Array.from(out);
}
