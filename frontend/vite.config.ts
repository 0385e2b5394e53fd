import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// Served by the backend at /dashboard/. The manifest lets bench/dashboard.mjs tell the entry
// chunk and its static imports from the lazy chunks.
export default defineConfig({
  base: '/dashboard/',
  plugins: [react(), tailwindcss()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, manifest: true },
});
