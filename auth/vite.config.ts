import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the backend at /auth/
export default defineConfig({
  base: '/auth/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
});
