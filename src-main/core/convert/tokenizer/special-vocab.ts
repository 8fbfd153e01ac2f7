// What gguf-py's SpecialVocab reads from a folder and adds after the vocabulary: merges, special token
// ids, add_bos/eos/sep flags, the chat template(s) and normalizer flags — with its precedence rules:
// tokenizer.json + tokenizer_config.json first, then config.json's *_token_id; the first id set for a
// kind wins; a TemplateProcessing post-processor decides add_bos/add_eos/add_sep.

import { quantfitError } from '../../errors.ts';
import { msg } from '../../../../src-shared/messages/index.ts';
import { GgufValueType as T } from '../../gguf/types.ts';
import { isObject, pyEqual, truthy, type Json, type JsonObject, type TokenizerFolder } from './folder.ts';
import { ADD_SPECIAL_TOKEN_KEYS, KvList, SPECIAL_TOKEN_ID_KEYS, TokenizerKey } from './kv-list.ts';
import type { HfConfig } from '../hf-config.ts';

export const DEFAULT_SPECIAL_TOKEN_TYPES: readonly string[] = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'];

export interface SpecialVocabOptions {
  loadMerges?: boolean;
  specialTokenTypes?: readonly string[];
  /** Ids at or past this are skipped, as the converter does when it passes n_vocab. */
  nVocab?: number;
}

export type ChatTemplate = string | readonly Json[];

/** U+0120: the converter's stand-in for a space inside a merge given in the [a, b] form. */
const ENCODED_SPACE = String.fromCharCode(' '.charCodeAt(0) + 256);

/** Python's str.isspace() characters, for str.split() and str.strip(). */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPLIT = new RegExp(`[${PY_SPACE}]+`);
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

export class SpecialVocab {
  merges: string[] = [];
  /** Insertion-ordered, as the Python dicts are. */
  readonly specialTokenIds = new Map<string, number>();
  readonly addSpecialToken = new Map<string, boolean>();
  chatTemplate: ChatTemplate | undefined;
  normalizerLowercase: boolean | undefined;
  normalizerStripAccents: boolean | undefined;
  specialTokenTypes: string[];
  private readonly loadMerges: boolean;
  private readonly nVocab: number | undefined;

  private constructor(options: SpecialVocabOptions) {
    this.loadMerges = options.loadMerges ?? false;
    this.nVocab = options.nVocab;
    this.specialTokenTypes = [...(options.specialTokenTypes ?? DEFAULT_SPECIAL_TOKEN_TYPES)];
  }

  static async load(folder: TokenizerFolder, config: HfConfig, options: SpecialVocabOptions = {}): Promise<SpecialVocab> {
    const sv = new SpecialVocab(options);
    await sv.loadFromTokenizerJson(folder);
    sv.loadFromConfig(config);
    if (sv.loadMerges && sv.merges.length === 0) await sv.loadMergesTxt(folder);
    return sv;
  }

  /** `_set_special_token`: ints only (a bool counts, as in Python), first one wins, out of range skipped. */
  setSpecialToken(kind: string, id: Json | undefined, file = 'config.json'): void {
    if (typeof id === 'boolean') id = id ? 1 : 0;
    if (typeof id !== 'number' || !Number.isInteger(id)) return;
    if (id < 0) {
      throw quantfitError('tokenizer.negativeSpecialId', { kind, id }, { file });
    }
    if (this.nVocab !== undefined && id >= this.nVocab) return;
    if (!this.specialTokenIds.has(kind)) this.specialTokenIds.set(kind, id);
  }

  /** `add_to_gguf`. */
  addTo(kv: KvList): void {
    if (this.merges.length > 0) kv.array(TokenizerKey.MERGES, T.STRING, this.merges);
    for (const [kind, id] of this.specialTokenIds) {
      const key = SPECIAL_TOKEN_ID_KEYS[kind];
      if (key !== undefined) kv.uint32(key, id);
    }
    for (const [kind, value] of this.addSpecialToken) {
      const key = ADD_SPECIAL_TOKEN_KEYS[kind];
      if (key !== undefined) kv.bool(key, value);
    }
    if (this.chatTemplate !== undefined) addChatTemplate(kv, this.chatTemplate);
    if (this.normalizerLowercase !== undefined) kv.bool(TokenizerKey.NORMALIZER_LOWERCASE, this.normalizerLowercase);
    if (this.normalizerStripAccents !== undefined) kv.bool(TokenizerKey.NORMALIZER_STRIP_ACCENTS, this.normalizerStripAccents);
  }

  private readMerges(folder: TokenizerFolder, model: Json | undefined): void {
    const merges = isObject(model) ? model.merges : undefined;
    if (!Array.isArray(merges) || merges.length === 0) return;
    const first = merges[0];
    if (typeof first === 'string') {
      this.merges = merges.map((m, i) => {
        if (typeof m !== 'string') throw folder.invalid('tokenizer.json', msg('tokenizer.bad.merge', { index: i }));
        return m;
      });
    } else if (Array.isArray(first) && first.length === 2 && typeof first[0] === 'string') {
      // The [a, b] form (transformers ≥ 4.45) allows spaces in a part; the "a b" form cannot, so they
      // are written as U+0120.
      this.merges = merges.map((pair, i) => {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
          throw folder.invalid('tokenizer.json', msg('tokenizer.bad.merge', { index: i }));
        }
        return `${pair[0].replaceAll(' ', ENCODED_SPACE)} ${pair[1].replaceAll(' ', ENCODED_SPACE)}`;
      });
    } else {
      throw quantfitError('tokenizer.unknownMergesFormat', {}, { file: folder.path('tokenizer.json') });
    }
  }

  private parseNormalizer(normalizer: JsonObject): void {
    const type = normalizer.type;
    if (type === 'Lowercase') this.normalizerLowercase = true;
    else if (type === 'StripAccents') this.normalizerStripAccents = true;
    else if (type === 'BertNormalizer') {
      if ('lowercase' in normalizer) this.normalizerLowercase = truthy(normalizer.lowercase);
      if ('strip_accents' in normalizer) {
        // null ("follow lowercase") is kept out, as a GGUF bool cannot hold it.
        const v = normalizer.strip_accents;
        if (typeof v === 'boolean') this.normalizerStripAccents = v;
      }
    } else if (type === 'Sequence') {
      const list = normalizer.normalizers;
      if (Array.isArray(list)) for (const n of list) if (isObject(n)) this.parseNormalizer(n);
    }
  }

  private async loadFromTokenizerJson(folder: TokenizerFolder): Promise<void> {
    const tokenizer = await folder.jsonObject('tokenizer.json');
    let addedTokens: Json[] = [];
    if (tokenizer !== undefined) {
      if (this.loadMerges) this.readMerges(folder, tokenizer.model);
      if (isObject(tokenizer.normalizer)) this.parseNormalizer(tokenizer.normalizer);
      const added = tokenizer.added_tokens;
      if (Array.isArray(added)) addedTokens = added;
    }
    const config = await folder.jsonObject('tokenizer_config.json');
    if (tokenizer !== undefined && truthy(tokenizer)) this.readPostProcessor(tokenizer, config);
    if (config === undefined || !truthy(config)) return;
    this.chatTemplate = await readChatTemplate(folder, config);
    for (const kind of this.specialTokenTypes) {
      const add = config[`add_${kind}_token`];
      if (typeof add === 'boolean') this.addSpecialToken.set(kind, add);
      const entry = config[`${kind}_token`];
      let content: string;
      if (typeof entry === 'string') content = entry;
      else if (isObject(entry) && typeof entry.content === 'string') content = entry.content;
      else continue;
      const match = addedTokens.find((t) => isObject(t) && t.content === content);
      this.setSpecialToken(kind, isObject(match) ? match.id : undefined, folder.path('tokenizer_config.json'));
    }
  }

  /**
   * The converter's crude reading of the post-processor: RobertaProcessing adds bos, eos and sep;
   * TemplateProcessing's single/pair templates decide add_bos/add_eos/add_sep and may name bos, cls,
   * eos (moving the old eos to eot or eom) and sep in tokenizer_config — which it edits in memory.
   */
  private readPostProcessor(tokenizer: JsonObject, config: JsonObject | undefined): void {
    const tc = config;
    let bos = tc?.bos_token;
    let cls = tc?.cls_token;
    let eos = tc?.eos_token;
    let sep = tc?.sep_token;
    if (!truthy(bos) && truthy(cls) && tc !== undefined && truthy(tc)) tc.bos_token = bos = cls as Json;
    if (!truthy(eos) && truthy(sep) && tc !== undefined && truthy(tc)) tc.eos_token = eos = sep as Json;
    const post = tokenizer.post_processor;
    if (!truthy(post) || !isObject(post)) return;
    const processors = 'processors' in post ? post.processors : [post];
    if (!Array.isArray(processors)) return;
    const tcTruthy = (): boolean => tc !== undefined && truthy(tc);
    const specialId = (item: Json | undefined): Json | undefined => {
      const st = isObject(item) ? item.SpecialToken : undefined;
      return isObject(st) ? st.id : undefined;
    };
    const seqId = (item: Json | undefined): Json | undefined => {
      const s = isObject(item) ? item.Sequence : undefined;
      return isObject(s) ? s.id : undefined;
    };
    for (const processor of processors) {
      if (!isObject(processor)) continue;
      if (processor.type === 'RobertaProcessing') {
        this.addSpecialToken.set('bos', true);
        this.addSpecialToken.set('eos', true);
        this.addSpecialToken.set('sep', true);
        if (!truthy(cls) && tcTruthy()) {
          const c = processor.cls;
          cls = Array.isArray(c) ? c[0] : bos;
          tc!.cls_token = cls ?? null;
        }
        if (!truthy(sep) && tcTruthy()) {
          const s = processor.sep;
          sep = Array.isArray(s) ? s[0] : eos;
          tc!.sep_token = sep ?? null;
        }
        continue;
      }
      if (processor.type !== 'TemplateProcessing') continue;
      const single = Array.isArray(processor.single) ? processor.single : [];
      let pair = Array.isArray(processor.pair) ? processor.pair : [];
      let first: Json | undefined;
      let last: Json | undefined;
      if (single.length > 1) {
        first = specialId(single[0]);
        if (truthy(first)) {
          if (!tcTruthy()) bos = first;
          else if (!pyEqual(first, bos) && !pyEqual(first, cls)) {
            if (!truthy(bos)) tc!.bos_token = bos = first!;
            if (!truthy(cls)) tc!.cls_token = cls = first!;
          }
          this.addSpecialToken.set('bos', pyEqual(first, bos) || pyEqual(first, cls));
        }
        last = specialId(single[single.length - 1]);
        if (truthy(last)) {
          if (!tcTruthy()) eos = last;
          else if (!pyEqual(last, eos)) {
            if (!this.specialTokenTypes.includes('eot')) {
              this.specialTokenTypes.push('eot');
              tc!.eot_token = eos ?? null;
            } else if (!this.specialTokenTypes.includes('eom')) {
              this.specialTokenTypes.push('eom');
              tc!.eom_token = eos ?? null;
            }
            tc!.eos_token = eos = last!;
          }
          this.addSpecialToken.set('eos', pyEqual(last, eos));
        }
      }
      if (pair.length > 0) {
        const start = truthy(first) && pyEqual(specialId(pair[0]), first) ? 1 : 0;
        const stop = truthy(last) && pyEqual(specialId(pair[pair.length - 1]), last) ? pair.length - 1 : pair.length;
        pair = pair.slice(start, Math.max(start, stop));
        if (pair.length > 0) {
          const a = seqId(pair[0]);
          const b = seqId(pair[pair.length - 1]);
          const middle = pair.slice(1, -1);
          if (a === 'A' && b === 'B' && middle.length > 0) {
            let addSep = false;
            const entry = specialId(middle[0]);
            if (truthy(entry) && (pyEqual(entry, sep) || pyEqual(entry, eos)) && !truthy(last)) addSep = true;
            if (middle.length === 2) {
              const second = specialId(middle[1]);
              if (truthy(second) && (pyEqual(second, sep) || pyEqual(second, eos))) addSep = true;
            }
            this.addSpecialToken.set('sep', addSep);
            if (addSep && !truthy(sep) && tcTruthy()) tc!.sep_token = eos ?? null;
          }
        }
      }
    }
  }

  private loadFromConfig(config: HfConfig): void {
    const text = isObject(config.text_config as Json) ? (config.text_config as JsonObject) : undefined;
    for (const kind of this.specialTokenTypes) {
      let id = config[`${kind}_token_id`] as Json | undefined;
      if ((id === undefined || id === null) && 'text_config' in config && text !== undefined) id = text[`${kind}_token_id`];
      this.setSpecialToken(kind, id);
    }
  }

  private async loadMergesTxt(folder: TokenizerFolder): Promise<void> {
    const text = await folder.text('merges.txt');
    if (text === undefined) return;
    const lines = text.split('\n');
    if (text.endsWith('\n')) lines.pop();
    const firstLine = (lines[0] ?? '').replace(PY_STRIP, '');
    const merges: string[] = [];
    for (let i = firstLine.startsWith('#') ? 1 : 0; i < lines.length; i++) {
      const line = lines[i].replace(PY_STRIP, '');
      if (line.length === 0) continue;
      const parts = line.split(PY_SPLIT);
      if (parts.length !== 2) continue;
      merges.push(`${parts[0]} ${parts[1]}`);
    }
    this.merges = merges;
  }
}

/**
 * tokenizer_config.json's chat_template (a string, or a list of {name, template}); when the key is
 * absent, chat_template.jinja (plus additional_chat_templates/*.jinja as named ones) or
 * chat_template.json's chat_template.
 */
async function readChatTemplate(folder: TokenizerFolder, config: JsonObject): Promise<ChatTemplate | undefined> {
  let alt: Json | undefined;
  const jinja = await folder.text('chat_template.jinja');
  if (jinja !== undefined) {
    alt = jinja;
    const extra = await folder.list('additional_chat_templates', '.jinja');
    if (extra.length > 0) {
      const list: Json[] = [{ name: 'default', template: jinja }];
      for (const name of extra) {
        const template = await folder.text(`additional_chat_templates/${name}`);
        list.push({ name: name.slice(0, -'.jinja'.length), template: template ?? '' });
      }
      alt = list;
    }
  } else {
    const json = await folder.json('chat_template.json');
    if (isObject(json)) alt = json.chat_template;
  }
  const template = 'chat_template' in config ? config.chat_template : alt;
  if (typeof template === 'string' || Array.isArray(template)) return template;
  return undefined;
}

/** GGUFWriter.add_chat_template: named templates first, then their names, then the default. */
function addChatTemplate(kv: KvList, value: ChatTemplate): void {
  if (typeof value === 'string') {
    kv.string(TokenizerKey.CHAT_TEMPLATE, value);
    return;
  }
  let fallback: string | undefined;
  const names: string[] = [];
  for (const choice of value) {
    if (!isObject(choice)) continue;
    const rawName = typeof choice.name === 'string' ? choice.name : '';
    const name = rawName.replace(/[^A-Za-z0-9]/g, '_');
    const template = choice.template;
    if (name.length === 0 || typeof template !== 'string') continue;
    if (name === 'default') fallback = template;
    else {
      if (!names.includes(name)) names.push(name);
      kv.string(`${TokenizerKey.CHAT_TEMPLATE}.${name}`, template);
    }
  }
  // The converter collects the names in a Python set, whose order varies between runs; first-seen
  // order is the deterministic choice.
  if (names.length > 0) kv.array(TokenizerKey.CHAT_TEMPLATES, T.STRING, names);
  if (fallback !== undefined) kv.string(TokenizerKey.CHAT_TEMPLATE, fallback);
}
