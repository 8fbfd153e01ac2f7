// Preload: exposes the typed QuantfitApi to the sandboxed renderer and nothing else.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import {
  IPC_EVENT_CHANNEL, IPC_MENU_CHANNEL, ipcChannel,
  type ApiArgs, type ApiResult, type InvokeMethod, type IpcReply, type JobMessage, type MenuCommand, type QuantfitApi,
} from '../../src-shared/contract.ts';
import { messageToErrorText } from '../../src-shared/message.ts';

async function invoke<M extends InvokeMethod>(method: M, ...args: ApiArgs<M>): Promise<ApiResult<M>> {
  const reply = (await ipcRenderer.invoke(ipcChannel(method), ...args)) as IpcReply<ApiResult<M>>;
  if (!reply.ok) throw new Error(messageToErrorText(reply.error));
  return reply.value;
}

function subscribe<T>(channel: string, cb: (value: T) => void): () => void {
  const listener = (_e: IpcRendererEvent, value: T): void => cb(value);
  ipcRenderer.on(channel, listener);
  return () => {
    ipcRenderer.removeListener(channel, listener);
  };
}

const api: QuantfitApi = {
  appInfo: () => invoke('appInfo'),
  hardware: () => invoke('hardware'),
  inspectModel: (path) => invoke('inspectModel', path),
  recommend: (path, ctx, opts) => invoke('recommend', path, ctx, opts),
  pickModelFile: () => invoke('pickModelFile'),
  pickModelFolder: () => invoke('pickModelFolder'),
  pickFolder: () => invoke('pickFolder'),
  pickImatrixFile: () => invoke('pickImatrixFile'),
  pathForDroppedFile: (file) => webUtils.getPathForFile(file),
  startFit: (request) => invoke('startFit', request),
  startMeasure: (path, types) => invoke('startMeasure', path, types),
  measureUnavailableReason: (path) => invoke('measureUnavailableReason', path),
  measuredFor: (path) => invoke('measuredFor', path),
  cancelJob: (jobId) => invoke('cancelJob', jobId),
  onJobEvent: (cb) => subscribe<JobMessage>(IPC_EVENT_CHANNEL, cb),
  onMenuCommand: (cb) => subscribe<MenuCommand>(IPC_MENU_CHANNEL, cb),
  listModels: () => invoke('listModels'),
  showModel: (name) => invoke('showModel', name),
  deleteModel: (name) => invoke('deleteModel', name),
  runningModels: () => invoke('runningModels'),
  getSettings: () => invoke('getSettings'),
  ollamaSources: () => invoke('ollamaSources'),
  openOllamaSource: (name) => invoke('openOllamaSource', name),
  ollamaPull: (name) => invoke('ollamaPull', name),
  hubListFiles: (ref) => invoke('hubListFiles', ref),
  hubDownload: (ref, files) => invoke('hubDownload', ref, files),
  setSettings: (patch) => invoke('setSettings', patch),
  openPath: (path) => invoke('openPath', path),
  openExternal: (url) => invoke('openExternal', url),
  copyText: (text) => invoke('copyText', text),
};

contextBridge.exposeInMainWorld('quantfit', api);
