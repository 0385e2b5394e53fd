#!/usr/bin/env node
// Where a CPU profile's time went, for reading a benchmark's `--profile` output without DevTools:
// self time per source file (Kiln's own files by path, packages by name, Node's modules) and per
// function, as shares of the sampled time. A sampling heap profile (`--heap`, .heapprofile) is
// read the same way: bytes allocated per source file and per function, and per request when the
// benchmark wrote the request count into it.
//
// Usage: node bench/profile-summary.mjs <file.cpuprofile|file.heapprofile> [--top 40]
import fs from 'node:fs';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top 40]');
  process.exit(2);
}
const topIndex = process.argv.indexOf('--top');
const top = topIndex >= 0 ? Number(process.argv[topIndex + 1]) : 40;
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
if (profile.head) {
  heapSummary(profile);
  process.exit(0);
}
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

// Self time per profile node: the sample's time delta goes to the node it landed on.
const selfTime = new Map();
profile.samples.forEach((id, i) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

function where(url) {
  if (!url) return undefined;
  const pkg = url.match(/node_modules\/\.pnpm\/(?:@[^+/]+\+)?([^@/]+)@/);
  if (pkg) return `package ${pkg[1]}`;
  const kiln = url.match(/backend\/dist\/(.*)$/);
  if (kiln) return `kiln ${kiln[1]}`;
  return url.startsWith('node:') ? url : url.slice(-60);
}

let total = 0;
const byFile = new Map();
const byFunction = new Map();
for (const [id, time] of selfTime) {
  total += time;
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const file = where(url) ?? functionName; // (garbage collector), (idle), native calls
  byFile.set(file, (byFile.get(file) ?? 0) + time);
  const fn = `${functionName || '(anonymous)'}  ${where(url) ?? ''}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + time);
}
const print = (title, map) => {
  console.log(`\n${title}`);
  for (const [name, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * time) / total).toFixed(1).padStart(6)} %  ${name}`);
};
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
print('self time by file', byFile);
print('self time by function', byFunction);

function heapSummary(heap) {
  const byFile = new Map();
  const byFunction = new Map();
  let total = 0;
  const walk = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    if (node.selfSize) {
      total += node.selfSize;
      const f = where(url) ?? functionName;
      byFile.set(f, (byFile.get(f) ?? 0) + node.selfSize);
      const fn = `${functionName || '(anonymous)'}  ${where(url) ?? ''}${url ? `:${lineNumber + 1}` : ''}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + node.selfSize);
    }
    for (const child of node.children ?? []) walk(child);
  };
  walk(heap.head);
  const perRequest = heap.requests
    ? ` = ${Math.round(total / heap.requests)} bytes per request over ${heap.requests} requests`
    : '';
  console.log(`${file}: ${(total / 1e6).toFixed(1)} MB allocated (sampled estimate)${perRequest}`);
  const show = (title, map) => {
    console.log(`\n${title}`);
    for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(
        `${((100 * bytes) / total).toFixed(1).padStart(6)} %  ${heap.requests ? `${Math.round(bytes / heap.requests)} B/req`.padStart(12) : ''}  ${name}`,
      );
  };
  show('allocated by file', byFile);
  show('allocated by function', byFunction);
}
