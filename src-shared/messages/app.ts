// The desktop app's own messages (main process, job host): what the renderer shows when the app,
// not the model or Ollama, refuses or fails.
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'app.unknownFrame': 'refused: call from an unknown frame',
    'app.jobAlreadyRunning': 'job {jobId} is already running',
    'app.jobProcessExited': 'the job process stopped unexpectedly (exit code {code})',
    'app.tooManyJobs': '{count} jobs are already running; wait for one to finish or cancel one',
    'app.outputBusy': 'a running job is already writing {path}; wait for it to finish or cancel it',
    'app.modelBusy': 'a running job is already creating the Ollama model {model}; wait for it to finish or cancel it',
    'app.notProduced': "'{path}' is not a file this app produced; only job results can be shown",
  },
  'zh-CN': {
    'app.unknownFrame': '已拒绝：来自未知框架的调用',
    'app.jobAlreadyRunning': '任务 {jobId} 已在运行',
    'app.jobProcessExited': '任务进程意外退出（退出码 {code}）',
    'app.tooManyJobs': '已有 {count} 个任务在运行；请等待其中一个完成或取消一个',
    'app.outputBusy': '正在运行的任务已在写入 {path}；请等待它完成或取消它',
    'app.modelBusy': '正在运行的任务已在创建 Ollama 模型 {model}；请等待它完成或取消它',
    'app.notProduced': '“{path}” 不是本应用生成的文件；只能显示任务的结果',
  },
} satisfies Catalogue;
