// The zh-CN screens' check: the text a person reads holds no English sentence (a run of three or more
// English words), names, paths, type names and quoted commands aside.
import type { Page } from 'playwright-core';

/**
 * The text a person reads on the page, without what is not language: code, commands and templates
 * (code, pre, kbd) and names marked translate="no" (a GPU's model, a model's reply).
 */
export async function visibleText(page: Page): Promise<string> {
  // A string, not a function: the test's transpiler would wrap named functions in a helper the page lacks.
  return page.evaluate(`(() => {
    const parts = [];
    const walk = (node) => {
      if (node.nodeType === Node.TEXT_NODE) return void parts.push(node.textContent ?? '');
      if (!(node instanceof HTMLElement)) return;
      if (node.matches('code, pre, kbd, script, style, [translate="no"]') || node.getClientRects().length === 0) return;
      if (node instanceof HTMLInputElement || node instanceof HTMLTextAreaElement) parts.push(' ' + node.placeholder + ' ');
      for (const child of node.childNodes) walk(child);
      parts.push('\\n');
    };
    walk(document.body);
    return parts.join('');
  })()`);
}

/** Commands a Chinese sentence may quote. */
const COMMANDS = new Set(['quantfit', 'ollama', 'llama-imatrix', 'llama-quantize']);

/** Names and units that read the same in Chinese. */
const LANGUAGE_FREE_WORDS = new Set(['Quantfit', 'Ollama', 'Hugging', 'Face', 'ModelScope', 'Modelfile', 'English', 'ppl', 'tokens']);

/**
 * Runs of three or more English words in `text`: a sentence someone forgot to translate. Paths, file
 * names, type and model names (anything with a digit, '_', '/', '\\', ':' or '.gguf') and acronyms
 * (GPU, KV, GGUF) are not words; Chinese text between words ends a run.
 */
export function englishRuns(text: string): string[] {
  const runs: string[] = [];
  for (const segment of text.split(/[\u3000-\u9fff\uff00-\uffef\n]+/)) {
    let run: string[] = [];
    const end = () => {
      if (run.length >= 3) runs.push(run.join(' '));
      run = [];
    };
    for (const token of segment.split(/\s+/)) {
      // A command quoted in a sentence (`quantfit import … --name …`) runs to the end of the segment.
      if (COMMANDS.has(token)) break;
      if (/[\d_/\\:]|\.gguf/i.test(token)) continue;
      const word = token.replace(/^[^A-Za-z]+|[^A-Za-z]+$/g, '');
      if (word === '' || /^[A-Z]+s?$/.test(word) || LANGUAGE_FREE_WORDS.has(word)) continue;
      if (/^[A-Za-z][A-Za-z'’-]*$/.test(word)) run.push(word);
      else end();
    }
    end();
  }
  return runs;
}

/** The English sentences on the page as it is now (empty when there are none). */
export async function englishOnScreen(page: Page): Promise<string[]> {
  return englishRuns(await visibleText(page));
}
