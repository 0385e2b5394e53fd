/**
 * The benchmarks start the server as production does: bench/lib.mjs's spawnBuiltServer (the
 * browser benchmarks) and bench/records.mjs's server child take node's flags from one place,
 * productionNodeFlags: the `start` script of package.json, which backend/package.json and the
 * Dockerfile must repeat.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface BenchLib {
  productionNodeFlags(): string[];
  builtServerArgs(): string[];
}

describe('bench/lib.mjs', () => {
  it('starts the built server with the node flags of `pnpm start`', async () => {
    const lib = (await import(path.join(ROOT, 'bench', 'lib.mjs'))) as BenchLib;
    const start = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: { start: string };
      }
    ).scripts.start;
    const flags = lib.productionNodeFlags();
    expect(flags).toContain('--max-semi-space-size=64');
    expect(start).toContain(`node ${flags.join(' ')} backend/dist/server.js`);
    expect(lib.builtServerArgs()).toEqual([
      ...flags,
      path.join(ROOT, 'backend', 'dist', 'server.js'),
    ]);
    // records.mjs starts its server child with the same list, from the same function.
    const records = fs.readFileSync(path.join(ROOT, 'bench', 'records.mjs'), 'utf8');
    expect(records).toMatch(/import \{[^}]*productionNodeFlags[^}]*\} from '\.\/lib\.mjs'/);
    expect(records).not.toMatch(/function productionNodeFlags/);
  });
});
