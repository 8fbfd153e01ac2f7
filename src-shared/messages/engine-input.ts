// Messages of the engine's model inputs: a Hugging Face folder converted for llama.cpp (which reads
// GGUF files only) into a temp file that lives as long as the job.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'engine.input.converting': 'llama.cpp reads GGUF files: converting {folder} ({type}, {size}) to {file}, removed when this job ends',
    'engine.input.converted': 'converted {folder} in {seconds} s',
    'engine.input.progress': 'converting the folder for llama.cpp',
    'engine.input.noSpace': 'no room to convert {folder} for llama.cpp: it needs {needs} in {dir}, {free} free (free some space, or choose another folder for the work)',
    'engine.input.makeFolder': 'cannot make the work folder {dir}: {reason}',
    'engine.input.noSpaceWithOutput': "not enough free space for the output and the folder's conversion for llama.cpp beside it: it needs {output} + {conversion}, {free} free",
  },
  'zh-CN': {
    'engine.input.converting': 'llama.cpp 只读取 GGUF 文件：正在将 {folder}（{type}，{size}）转换为 {file}，任务结束时删除',
    'engine.input.converted': '已转换 {folder}，用时 {seconds} 秒',
    'engine.input.progress': '正在为 llama.cpp 转换文件夹',
    'engine.input.noSpace': '没有足够空间为 llama.cpp 转换 {folder}：需要 {dir} 中有 {needs}，可用 {free}（请释放空间，或为此工作选择其他文件夹）',
    'engine.input.makeFolder': '无法创建工作文件夹 {dir}：{reason}',
    'engine.input.noSpaceWithOutput': '空间不足，无法同时存放输出文件和旁边为 llama.cpp 转换的文件夹：需要 {output} + {conversion}，可用 {free}',
  },
} as const satisfies Catalogue;
