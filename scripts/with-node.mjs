#!/usr/bin/env node
// Runs a command under another Node.js release, fetched from the npm registry (the registry
// carries Node's own binaries as `node-<platform>-<arch>` packages), so the suite can be checked
// on every supported LTS without a version manager or any download site but npm's.
//
//   node scripts/with-node.mjs 24.22.3 pnpm exec vitest run
//
// The binary is unpacked once into node_modules/.cache/node-<version>/ and reused. The command
// runs with that release first on PATH, so `node` and every `#!/usr/bin/env node` script
// (pnpm, vitest, the server processes the tests start) run on it. Exits with the command's status.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [version, ...command] = process.argv.slice(2);
if (!version || !/^\d+\.\d+\.\d+$/.test(version) || command.length === 0) {
  console.error(
    'usage: node scripts/with-node.mjs <exact version, e.g. 24.22.3> <command> [args…]',
  );
  process.exit(2);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, 'node_modules', '.cache');
const home = join(cache, `node-${version}`);
const bin = join(home, 'bin');

if (!existsSync(join(bin, 'node'))) {
  const pkg = `node-${process.platform}-${process.arch}@${version}`;
  const work = join(cache, `node-${version}.download`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  console.error(`with-node: fetching ${pkg} from the npm registry`);
  const pack = spawnSync('npm', ['pack', pkg, '--silent', '--pack-destination', work], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  if (pack.status !== 0 || !tarball) {
    console.error(
      `with-node: could not fetch ${pkg} (is that version published for this platform?)`,
    );
    process.exit(1);
  }
  const untar = spawnSync('tar', ['-xzf', join(work, tarball), '-C', work], { stdio: 'inherit' });
  if (untar.status !== 0) process.exit(1);
  rmSync(home, { recursive: true, force: true });
  renameSync(join(work, 'package'), home);
  rmSync(work, { recursive: true, force: true });
}

const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
const check = spawnSync('node', ['--version'], { env, encoding: 'utf8' });
if (check.stdout.trim() !== `v${version}`) {
  console.error(
    `with-node: expected node v${version} on PATH, got ${check.stdout.trim() || check.error}`,
  );
  process.exit(1);
}
console.error(`with-node: running on node v${version}: ${command.join(' ')}`);
const run = spawnSync(command[0], command.slice(1), { env, stdio: 'inherit' });
if (run.error) {
  console.error(`with-node: ${run.error.message}`);
  process.exit(1);
}
process.exit(run.status ?? 1);
