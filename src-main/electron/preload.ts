// Preload: exposes the typed QuantfitApi to the sandboxed renderer and nothing else.
import { contextBridge, ipcRenderer } from 'electron';
import { IPC_CHANNELS, type QuantfitApi } from '../contract.ts';

const api: QuantfitApi = {
  appInfo: () => ipcRenderer.invoke(IPC_CHANNELS.appInfo),
};
contextBridge.exposeInMainWorld('quantfit', api);
