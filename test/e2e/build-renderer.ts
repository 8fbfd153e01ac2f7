// Build only the renderer (Vite + Svelte) with the renderer section of electron.vite.config.ts,
// into `outDir`. Used by the e2e test and the bundle-size check; no Electron needed.
import { fileURLToPath } from 'node:url';
import { build, type InlineConfig } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));

export async function buildRenderer(outDir: string): Promise<void> {
  const prev = process.cwd();
  // electron.vite.config.ts resolves its paths from the working directory.
  process.chdir(root);
  try {
    const config = (await import('../../electron.vite.config.ts')).default as { renderer: InlineConfig };
    const r = config.renderer;
    await build({
      ...r,
      configFile: false,
      logLevel: 'warn',
      build: { ...r.build, outDir, emptyOutDir: true },
    });
  } finally {
    process.chdir(prev);
  }
}
