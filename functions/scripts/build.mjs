// Type-checks the Deno runtime with the Deno binary from the `deno` npm package and copies it
// to dist/, which is what the backend starts. `--check-only` skips the copy (pnpm typecheck).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const denoBin = path.join(path.dirname(require.resolve('deno/package.json')), 'bin.cjs');

execFileSync(process.execPath, [denoBin, 'check', '--quiet', '--config', 'deno.json', 'src/'], {
  cwd: root,
  stdio: 'inherit',
});
if (process.argv.includes('--check-only')) process.exit(0);
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
fs.cpSync(path.join(root, 'src'), path.join(root, 'dist'), { recursive: true });
fs.copyFileSync(path.join(root, 'deno.json'), path.join(root, 'dist', 'deno.json'));
