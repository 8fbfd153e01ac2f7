// The statistics `llama-perplexity --kl-divergence` reports, computed the same way: per scored
// position, the candidate's logits against the reference's quantized log-probs (logprobs-file.ts).

/** Quality of a candidate against its reference (fractions, not percents). */
export interface KldSummary {
  readonly reference: { readonly ppl: number };
  readonly candidate: { readonly ppl: number };
  readonly kld: { readonly mean: number; readonly median: number; readonly p99: number; readonly max: number };
  /** How often both models put the same token on top. */
  readonly sameTopP: number;
  /** Root mean square of p(candidate) − p(reference) for the actual next token. */
  readonly rmsDeltaP: number;
  /** Positions scored. */
  readonly count: number;
}

const f = Math.fround;

export class KldAccumulator {
  private sumNll = 0;
  private sumNllBase = 0;
  private sumKld = 0;
  private sumPDiff2 = 0;
  private sameTop = 0;
  private count = 0;
  private readonly kldValues: number[] = [];

  /**
   * One position: `logits` (nVocab floats at `offset`) of the candidate, `row` (at `rowOffset`, the
   * logprobs-file layout) of the reference, and the token that actually came next.
   */
  add(logits: Float32Array, offset: number, nVocab: number, row: Uint16Array, rowOffset: number, token: number): void {
    let maxLogit = logits[offset]!;
    let iMax = 0;
    for (let i = 1; i < nVocab; i++) {
      const l = logits[offset + i]!;
      if (l > maxLogit) {
        maxLogit = l;
        iMax = i;
      }
    }
    let sumExp = 0;
    for (let i = 0; i < nVocab; i++) sumExp += f(Math.exp(f(logits[offset + i]! - maxLogit)));
    const logSumExp = f(Math.log(sumExp));
    const head = new Float32Array(row.buffer, row.byteOffset + rowOffset * 2, 2);
    const scale = head[0]!;
    const minLogProb = head[1]!;
    const q = rowOffset + 4;

    const nll = f(f(maxLogit + logSumExp) - logits[offset + token]!);
    const nllBase = -f(f(scale * row[q + token]!) + minLogProb);
    this.sumNll += nll;
    this.sumNllBase += nllBase;

    const logNorm = f(maxLogit + logSumExp);
    let kld = 0;
    let iMaxBase = -1;
    let maxLogBase = 0;
    for (let i = 0; i < nVocab; i++) {
      const logBase = f(f(scale * row[q + i]!) + minLogProb);
      if (i === 0 || logBase > maxLogBase) {
        maxLogBase = logBase;
        iMaxBase = i;
      }
      if (logBase > -16) kld += f(f(Math.exp(logBase)) * f(f(logBase - logits[offset + i]!) + logNorm));
    }
    this.sumKld += kld;
    this.kldValues.push(f(kld));
    this.count++;
    if (iMax === iMaxBase) this.sameTop++;
    const pDiff = f(f(Math.exp(-nll)) - f(Math.exp(-nllBase)));
    this.sumPDiff2 += pDiff * pDiff;
  }

  summary(): KldSummary {
    const n = this.count;
    if (n === 0) throw new Error('no positions scored');
    const sorted = Float64Array.from(this.kldValues).sort();
    const median = n % 2 === 0 ? f(0.5 * f(sorted[n / 2]! + sorted[n / 2 - 1]!)) : sorted[(n - 1) / 2]!;
    return {
      reference: { ppl: Math.exp(this.sumNllBase / n) },
      candidate: { ppl: Math.exp(this.sumNll / n) },
      kld: { mean: this.sumKld / n, median, p99: percentile(sorted, 0.99), max: sorted[n - 1]! },
      sameTopP: this.sameTop / n,
      rmsDeltaP: Math.sqrt(this.sumPDiff2 / n),
      count: n,
    };
  }
}

/** llama-perplexity's percentile: linear between the two nearest ranks. */
function percentile(sorted: Float64Array, fraction: number): number {
  const p = f(fraction * (sorted.length - 1));
  const ip = Math.floor(p);
  const t = p - ip;
  return (1 - t) * sorted[ip]! + t * sorted[Math.min(ip + 1, sorted.length - 1)]!;
}
