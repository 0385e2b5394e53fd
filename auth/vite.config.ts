import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// Served by the backend at /auth/. The SDK reads two constants from @insforge/shared-schemas;
// importing that package would bring all of its zod schemas into the sign-in page (≈ 35 KiB
// gzipped), so the build points it at a module with just those constants (src/lib/sdk-shared.ts).
export default defineConfig({
  base: '/auth/',
  plugins: [react(), tailwindcss()],
  resolve: {
    alias: {
      '@insforge/shared-schemas': fileURLToPath(
        new URL('./src/lib/sdk-shared.ts', import.meta.url),
      ),
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, manifest: true },
});
