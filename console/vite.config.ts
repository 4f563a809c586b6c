import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const outDir = fileURLToPath(new URL('../dist/console', import.meta.url));

/**
 * The output folder is not emptied before a build: a running server (the test suite builds while another
 * test's server serves the console) must never see its files vanish. Instead, once the new files are
 * written, the assets of earlier builds (content-hashed names) are removed.
 */
function removeOldAssets(): Plugin {
  return {
    name: 'latchkey-remove-old-assets',
    writeBundle(_options, bundle) {
      const current = new Set(Object.keys(bundle));
      const assets = join(outDir, 'assets');
      for (const file of readdirSync(assets)) if (!current.has(`assets/${file}`)) rmSync(join(assets, file), { force: true });
    },
  };
}

// No React plugin: Vite's own transform compiles TSX with the automatic JSX runtime.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  esbuild: { jsx: 'automatic' },
  plugins: [removeOldAssets()],
  build: { outDir, emptyOutDir: false },
  server: {
    // `npm run dev` serves the API on 3000; the console's dev server forwards to it.
    proxy: { '/v1': 'http://127.0.0.1:3000', '/api': 'http://127.0.0.1:3000' },
  },
});
