// Chat templates: recognise a GGUF's model family from its Jinja `tokenizer.chat_template`, and give
// Ollama a Go template of our own for that family plus the stop strings that end a turn.
//
// Ollama only picks a template itself when the Jinja text is within 100 edits of one it ships; a
// fine-tune's template often drifts further and Ollama then silently falls back to `{{ .Prompt }}`
// (the #1 cause of "imported model rambles forever"). So for every family we know we send our own
// template, which makes the result independent of Ollama's nearest-match, and /api/show confirms it.

import type { GgufKv, GgufValue } from '../gguf/types.ts';
import type { Message } from '../../../src-shared/message.ts';
import { formatMessage, msg } from '../../../src-shared/messages/index.ts';
import type { ChatFamily, TemplateChoice } from './types.ts';

export interface FamilyTemplate {
  readonly family: ChatFamily;
  readonly label: string;
  /** All of these must occur in the Jinja template (checked in FAMILY_ORDER order). */
  readonly markers: readonly string[];
  /** If any of these occur the family does not apply (tells Llama 2 from Mistral). */
  readonly excludes?: readonly string[];
  /** Our Go template (Ollama's text/template dialect, over .Messages). */
  readonly template: string;
  /** Strings that mark a turn boundary: generation must stop there. */
  readonly stop: readonly string[];
}

// Each template iterates .Messages (Ollama folds SYSTEM and the prompt into it) and ends by opening
// the assistant's turn. They render the same text as the families' reference Jinja templates.
export const FAMILY_TEMPLATES: readonly FamilyTemplate[] = [
  {
    family: 'llama3',
    label: 'Llama 3',
    markers: ['<|start_header_id|>', '<|end_header_id|>'],
    template:
      '{{- range $m := .Messages }}<|start_header_id|>{{ $m.Role }}<|end_header_id|>\n\n' +
      '{{ $m.Content }}<|eot_id|>' +
      '{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
    stop: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
  },
  {
    family: 'chatml',
    label: 'ChatML (Qwen and others)',
    markers: ['<|im_start|>'],
    template:
      '{{- range $m := .Messages }}<|im_start|>{{ $m.Role }}\n' +
      '{{ $m.Content }}<|im_end|>\n' +
      '{{ end }}<|im_start|>assistant\n',
    stop: ['<|im_start|>', '<|im_end|>'],
  },
  {
    family: 'gemma',
    label: 'Gemma',
    markers: ['<start_of_turn>'],
    // Gemma has no system role: the system text opens the next user turn.
    template:
      '{{- $sys := "" }}' +
      '{{- range $m := .Messages }}' +
      '{{- if eq $m.Role "system" }}{{ $sys = $m.Content }}' +
      '{{- else if eq $m.Role "user" }}<start_of_turn>user\n' +
      '{{ if $sys }}{{ $sys }}\n\n{{ $sys = "" }}{{ end }}' +
      '{{ $m.Content }}<end_of_turn>\n' +
      '{{ else if eq $m.Role "assistant" }}<start_of_turn>model\n{{ $m.Content }}<end_of_turn>\n' +
      '{{ end }}' +
      '{{- end }}<start_of_turn>model\n',
    stop: ['<start_of_turn>', '<end_of_turn>'],
  },
  {
    family: 'phi3',
    label: 'Phi-3',
    // Some Phi-3 templates build `<|user|>` from the role name, but all close turns with <|end|>
    // and open the reply with <|assistant|> (Zephyr has the latter but ends turns with </s>).
    markers: ['<|assistant|>', '<|end|>'],
    template:
      '{{- range $m := .Messages }}<|{{ $m.Role }}|>\n' +
      '{{ $m.Content }}<|end|>\n' +
      '{{ end }}<|assistant|>\n',
    stop: ['<|end|>', '<|system|>', '<|user|>', '<|assistant|>'],
  },
  {
    family: 'llama2',
    label: 'Llama 2 chat',
    markers: ['[INST]', '<<SYS>>'],
    // The system block sits inside the first [INST] … [/INST] of the conversation.
    template:
      '{{- $sys := "" }}' +
      '{{- range $m := .Messages }}' +
      '{{- if eq $m.Role "system" }}{{ $sys = $m.Content }}' +
      '{{- else if eq $m.Role "user" }}[INST] ' +
      '{{ if $sys }}<<SYS>>\n{{ $sys }}\n<</SYS>>\n\n{{ $sys = "" }}{{ end }}' +
      '{{ $m.Content }} [/INST]' +
      '{{- else if eq $m.Role "assistant" }} {{ $m.Content }} </s><s>' +
      '{{- end }}' +
      '{{- end }}',
    stop: ['[INST]', '[/INST]', '<<SYS>>', '<</SYS>>'],
  },
  {
    family: 'mistral',
    label: 'Mistral instruct',
    markers: ['[INST]'],
    excludes: ['<<SYS>>'],
    // Mistral has no system role either: the system text is put before the user's words.
    template:
      '{{- $sys := "" }}' +
      '{{- range $m := .Messages }}' +
      '{{- if eq $m.Role "system" }}{{ $sys = $m.Content }}' +
      '{{- else if eq $m.Role "user" }}[INST] ' +
      '{{ if $sys }}{{ $sys }}\n\n{{ $sys = "" }}{{ end }}' +
      '{{ $m.Content }} [/INST]' +
      '{{- else if eq $m.Role "assistant" }}{{ $m.Content }}</s>' +
      '{{- end }}' +
      '{{- end }}',
    stop: ['[INST]', '[/INST]'],
  },
];

/** Finds the family whose markers the Jinja template carries, or null. */
export function detectChatFamily(chatTemplate: string): FamilyTemplate | null {
  for (const f of FAMILY_TEMPLATES) {
    if (!f.markers.every((m) => chatTemplate.includes(m))) continue;
    if (f.excludes?.some((m) => chatTemplate.includes(m))) continue;
    return f;
  }
  return null;
}

export function familyTemplate(family: ChatFamily): FamilyTemplate {
  const f = FAMILY_TEMPLATES.find((t) => t.family === family);
  if (!f) throw new Error(`no template for family ${family}`);
  return f;
}

function kvValue(kv: readonly GgufKv[], key: string): GgufValue | undefined {
  return kv.find((e) => e.key === key)?.value;
}

function kvIndex(kv: readonly GgufKv[], key: string): number | undefined {
  const v = kvValue(kv, key);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

/** The metadata keys whose token ids end a turn (llama.cpp reads the same ones). */
const END_TOKEN_KEYS = ['tokenizer.ggml.eos_token_id', 'tokenizer.ggml.eot_token_id', 'tokenizer.ggml.eom_token_id'] as const;

/** Token strings for the model's end-of-sequence / end-of-turn ids, looked up in tokenizer.ggml.tokens. */
export function endOfTurnTokens(kv: readonly GgufKv[]): string[] {
  const tokens = kvValue(kv, 'tokenizer.ggml.tokens');
  if (tokens === undefined || typeof tokens !== 'object') return [];
  const out: string[] = [];
  for (const key of END_TOKEN_KEYS) {
    const id = kvIndex(kv, key);
    if (id === undefined) continue;
    const text = tokens.items[id];
    if (typeof text === 'string' && text !== '' && !out.includes(text)) out.push(text);
  }
  return out;
}

export interface TemplatePlan {
  readonly choice: TemplateChoice;
  /** The template to send with create and write as TEMPLATE; null sends none. */
  readonly template: string | null;
  readonly stop: readonly string[];
  /** In English; warningTexts are the same as messages. */
  readonly warnings: readonly string[];
  readonly warningTexts: readonly Message[];
}

export interface TemplateOptions {
  /**
   * The server renders the GGUF's own Jinja chat template when none of its built-in ones matches
   * (Ollama ≥ 0.30, compat.ts), and no Go template was asked for: then none is sent.
   */
  readonly serverRendersGgufTemplate?: boolean;
}

/**
 * Decides the TEMPLATE and stop strings for a GGUF from its metadata. `userTemplate` (if given) wins;
 * then, where the server renders the GGUF's own chat template, none is sent (a Go template would drop
 * tool calling); else Quantfit's Go template for the family. Never returns a bare `{{ .Prompt }}`
 * quietly: with no usable template the plan carries a warning.
 */
export function planTemplate(kv: readonly GgufKv[], userTemplate?: string, options: TemplateOptions = {}): TemplatePlan {
  const eot = endOfTurnTokens(kv);
  const chat = kvValue(kv, 'tokenizer.chat_template');
  const chatTemplate = typeof chat === 'string' ? chat : '';
  const family = chatTemplate !== '' ? detectChatFamily(chatTemplate) : null;
  const stop = [...new Set([...(family?.stop ?? []), ...eot])];
  const plain = { warnings: [], warningTexts: [] };

  if (userTemplate !== undefined && userTemplate.trim() !== '') {
    const reasonText = msg('ollama.template.given');
    return { choice: { kind: 'user', reason: english(reasonText), reasonText }, template: userTemplate, stop, ...plain };
  }
  if (options.serverRendersGgufTemplate === true && chatTemplate !== '') {
    // No stop list either: it would replace the one Ollama adds when it matches a built-in template.
    const reasonText = msg('ollama.template.ggufRendered');
    return { choice: { kind: 'gguf', reason: english(reasonText), reasonText }, template: null, stop: [], ...plain };
  }
  if (family) {
    const reasonText = msg('ollama.template.markers', { label: family.label, markers: family.markers.join(', ') });
    return { choice: { kind: 'own', family: family.family, reason: english(reasonText), reasonText }, template: family.template, stop, ...plain };
  }
  const reasonText = msg(chatTemplate === '' ? 'ollama.template.noChatTemplate' : 'ollama.template.unknownFamily');
  const warning = msg('ollama.template.bareWarning', { reason: reasonText });
  return { choice: { kind: 'none', reason: english(reasonText), reasonText }, template: null, stop, warnings: [english(warning)], warningTexts: [warning] };
}

function english(text: Message): string {
  return formatMessage(text, 'en');
}
