// Messages shared by every area: cancellation, where an error happened, and the operating system's
// file errors (so "no such file" reads in the user's language too).
import type { Catalogue } from '../message.ts';

export const catalogue = {
  en: {
    'common.cancelled': 'cancelled',
    /** Text that has no code (an unexpected error); shown as it is. */
    'common.text': '{text}',
    'common.error.inFile': '{file}: {error}',
    'common.error.at': '{error} ({where})',
    'common.where.offset': 'at offset {offset}',
    'common.where.key': "key '{key}'",
    'common.where.tensor': "tensor '{tensor}'",
    'common.where.and': '{first}, {second}',
    'common.fs.ENOENT': 'no such file or directory',
    'common.fs.EACCES': 'permission denied',
    'common.fs.EPERM': 'operation not permitted',
    'common.fs.ENOSPC': 'no space left on the device',
    'common.fs.EISDIR': 'is a directory',
    'common.fs.ENOTDIR': 'a part of the path is not a directory',
    'common.fs.EEXIST': 'already exists',
    'common.fs.EROFS': 'the file system is read-only',
    'common.fs.EMFILE': 'too many open files',
    'common.fs.EIO': 'input/output error',
    'common.fs.withPath': "{error}: '{path}'",
  },
  'zh-CN': {
    'common.cancelled': '已取消',
    'common.text': '{text}',
    'common.error.inFile': '{file}：{error}',
    'common.error.at': '{error}（{where}）',
    'common.where.offset': '位于偏移 {offset}',
    'common.where.key': '键 “{key}”',
    'common.where.tensor': '张量 “{tensor}”',
    'common.where.and': '{first}，{second}',
    'common.fs.ENOENT': '文件或目录不存在',
    'common.fs.EACCES': '权限不足',
    'common.fs.EPERM': '不允许此操作',
    'common.fs.ENOSPC': '设备上没有剩余空间',
    'common.fs.EISDIR': '是一个目录',
    'common.fs.ENOTDIR': '路径中有一部分不是目录',
    'common.fs.EEXIST': '已存在',
    'common.fs.EROFS': '文件系统是只读的',
    'common.fs.EMFILE': '打开的文件过多',
    'common.fs.EIO': '输入/输出错误',
    'common.fs.withPath': '{error}：“{path}”',
  },
} satisfies Catalogue;
