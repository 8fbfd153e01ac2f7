import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Three conventional entries (main, preload, renderer) plus the utility-process job host,
// which runs the quantizer and the fit job off the main process.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve('src-main/electron/main.ts'),
          'job-host': resolve('src-main/electron/job-host.ts'),
          // The quantizer's worker thread, loaded by the job host from beside itself.
          'quant-worker': resolve('src-main/core/quant/quant-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('src-main/electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src-renderer',
    // Relative asset URLs: the packaged app serves the renderer from app://quantfit/.
    base: './',
    build: {
      outDir: 'out/renderer',
      // electron-vite leaves the renderer unminified by default; the bundle budget counts shipped bytes.
      minify: true,
      rollupOptions: { input: { index: resolve('src-renderer/index.html') } },
    },
    plugins: [svelte()],
  },
});
