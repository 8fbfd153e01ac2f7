// Messages of the Hugging Face folder conversion and the safetensors reader.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'convert.noConfig': '{file}: no config.json in the folder (not a Hugging Face model folder?)',
    'convert.readFailed': '{file}: cannot read: {why}',
    'convert.badJson': '{file}: invalid JSON: {why}',
    'convert.badConfig': '{file}: {why}',
    'convert.missingHparam': '{file}: config.json has none of {keys}',
    'safetensors.invalid': '{file}: not a valid safetensors file: {why}',
    'safetensors.open': '{file}: cannot open: {why}',
  },
  'zh-CN': {
    'convert.noConfig': '{file}：文件夹中没有 config.json（不是 Hugging Face 模型文件夹？）',
    'convert.readFailed': '{file}：无法读取：{why}',
    'convert.badJson': '{file}：JSON 无效：{why}',
    'convert.badConfig': '{file}：{why}',
    'convert.missingHparam': '{file}：config.json 中缺少以下任一项：{keys}',
    'safetensors.invalid': '{file}：不是有效的 safetensors 文件：{why}',
    'safetensors.open': '{file}：无法打开：{why}',
  },
} satisfies Catalogue;
