import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the backend at /dashboard/
export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
});
