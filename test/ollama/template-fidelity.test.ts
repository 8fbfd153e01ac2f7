// Template fidelity: for every Jinja chat template Ollama ships for the families we template (test
// data from ../shared/ollama-templates), the model's own Jinja rendering of a conversation (through
// @huggingface/jinja) must equal what our Go template renders for it (through the test Go-template
// reader). The few ways a real template legitimately differs are named below, and nothing else may.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectChatFamily } from '../../src-main/core/ollama/templates.ts';
import type { ChatFamily } from '../../src-main/core/ollama/types.ts';
import { renderGoTemplate } from '../support/go-template.ts';

const INDEX = join(process.cwd(), '..', 'shared', 'ollama-templates', 'index.json');

type Jinja = { Template: new (src: string) => { render(items: Record<string, unknown>): string } };
let jinja: Jinja | null = null;
let reason: string | undefined;
try {
  // A devDependency; the name is a variable so a checkout without it still typechecks.
  const jinjaModule = '@huggingface/jinja';
  jinja = (await import(jinjaModule)) as unknown as Jinja;
} catch {
  reason = '@huggingface/jinja is not installed';
}
if (!reason && !existsSync(INDEX)) reason = 'the shared Ollama template index is absent';
if (reason) console.log(`# skipping template fidelity: ${reason}`);

/** bos/eos strings per family, as the models' tokenizers define them. */
const SPECIALS: Record<ChatFamily, { bos: string; eos: string }> = {
  llama3: { bos: '<|begin_of_text|>', eos: '<|eot_id|>' },
  chatml: { bos: '<|endoftext|>', eos: '<|im_end|>' },
  gemma: { bos: '<bos>', eos: '<eos>' },
  phi3: { bos: '<s>', eos: '<|endoftext|>' },
  llama2: { bos: '<s>', eos: '</s>' },
  mistral: { bos: '<s>', eos: '</s>' },
};

const CONVERSATIONS = {
  withSystem: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi there' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'What is 2+2?' },
  ],
  withoutSystem: [
    { role: 'user', content: 'Hi there' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'What is 2+2?' },
  ],
};

/** Known, accepted differences between a real template and our family template. */
function acceptedDifference(family: ChatFamily, conversation: keyof typeof CONVERSATIONS, theirs: string, ours: string): string | null {
  // Some templates add a default system turn when there is none ("You are a helpful assistant",
  // Llama 3.1's knowledge-date header): that is model-specific text, not the chat format.
  if (conversation === 'withoutSystem') {
    const header = family === 'llama3' ? /^<\|start_header_id\|>system<\|end_header_id\|>\n\n[\s\S]*?<\|eot_id\|>/ : family === 'chatml' ? /^<\|im_start\|>system\n[\s\S]*?<\|im_end\|>\n/ : null;
    if (header && theirs.replace(header, '') === ours) return 'default system prompt';
  }
  // Llama 3.1 puts its knowledge-date header in front of the given system text.
  if (family === 'llama3' && theirs.replace(/(system<\|end_header_id\|>\n\n)Cutting Knowledge Date: [^\n]*\nToday Date: [^\n]*\n\n/, '$1') === ours) return 'knowledge-date header';
  // One ChatML variant writes the system text bare, without its own turn.
  if (family === 'chatml' && conversation === 'withSystem' && ours.replace(/^<\|im_start\|>system\n([\s\S]*?)<\|im_end\|>\n/, '$1') === theirs) return 'bare system text';
  // One Mistral variant writes a space after </s>.
  if (family === 'mistral' && theirs.replaceAll('</s> [INST]', '</s>[INST]') === ours) return 'space after </s>';
  // One Phi-3 variant drops system messages; we keep them.
  if (family === 'phi3' && conversation === 'withSystem' && ours.replace(/^<\|system\|>\n[\s\S]*?<\|end\|>\n/, '') === theirs) return 'system message dropped by the template';
  return null;
}

test('our Go templates render what the models\' own Jinja templates render', { skip: reason }, () => {
  const index = JSON.parse(readFileSync(INDEX, 'utf8')) as Array<{ name: string; template: string }>;
  let exact = 0;
  const accepted: string[] = [];
  for (const entry of index) {
    const family = detectChatFamily(entry.template);
    if (!family) continue;
    const { bos, eos } = SPECIALS[family.family];
    for (const [conv, messages] of Object.entries(CONVERSATIONS) as Array<[keyof typeof CONVERSATIONS, typeof CONVERSATIONS.withSystem]>) {
      let theirs: string;
      try {
        theirs = new jinja!.Template(entry.template).render({ messages, add_generation_prompt: true, bos_token: bos, eos_token: eos });
      } catch {
        // Templates that refuse a system role (Gemma 1, Mistral) raise: nothing to compare.
        continue;
      }
      // Ollama's runner adds BOS itself, so a template's leading BOS is not part of the prompt text.
      if (theirs.startsWith(bos)) theirs = theirs.slice(bos.length);
      const ours = renderGoTemplate(family.template, { Messages: messages.map((m) => ({ Role: m.role, Content: m.content })) });
      if (theirs === ours) {
        exact++;
        continue;
      }
      const why = acceptedDifference(family.family, conv, theirs, ours);
      assert.ok(why, `${entry.name} (${conv}) renders differently:\n theirs ${JSON.stringify(theirs)}\n ours   ${JSON.stringify(ours)}`);
      accepted.push(`${entry.name}/${conv}: ${why}`);
    }
  }
  console.log(`# template fidelity: ${exact} identical renderings, ${accepted.length} known differences (${[...new Set(accepted.map((a) => a.split(': ')[1]))].join('; ')})`);
  assert.ok(exact >= 20, `only ${exact} identical renderings`);
});
