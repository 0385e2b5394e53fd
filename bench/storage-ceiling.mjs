#!/usr/bin/env node
// Storage download ceiling (needs `pnpm build`): the same 1 GiB stored object served by Kiln and
// by a bare node:http server in the same process, fetched with curl to /dev/null and to a file,
// twice each. Tells Kiln's overhead apart from what this machine's disk and loopback allow.
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
const run = promisify(execFile);
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKiln } from './lib.mjs';
const work = path.join(path.dirname(fileURLToPath(import.meta.url)), '.work', 'ceiling');
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
fs.chmodSync(work, 0o755);
const kiln = await startKiln({
  name: 'probe',
  dataDir: path.join(work, 'data'),
  env: { MAX_FILE_SIZE: String(4 * 1024 ** 3) },
});
const url = await kiln.listen();
const auth = `authorization: Bearer ${kiln.apiKey}`;
await run('curl', [
  '-s',
  '-X',
  'POST',
  '-H',
  auth,
  '-H',
  'content-type: application/json',
  '-d',
  '{"bucketName":"b"}',
  `${url}/api/storage/buckets`,
]);
execFileSync('dd', ['if=/dev/urandom', `of=${work}/src.bin`, 'bs=1M', 'count=1024', 'status=none']);
await run('curl', [
  '-s',
  '-o',
  '/dev/null',
  '-X',
  'PUT',
  '-H',
  auth,
  '-F',
  `file=@${work}/src.bin`,
  `${url}/api/storage/buckets/b/objects/big.bin`,
]);
const stored = execFileSync('find', [path.join(work, 'data', 'storage', 'b'), '-type', 'f'])
  .toString()
  .trim();
const bare = http.createServer((req, res) => {
  res.writeHead(200, { 'content-length': fs.statSync(stored).size });
  fs.createReadStream(stored, { highWaterMark: 256 * 1024 }).pipe(res);
});
await new Promise((r) => bare.listen(0, '127.0.0.1', r));
const time = async (label, args) => {
  execFileSync('sync');
  const t0 = performance.now();
  await run('curl', args);
  console.log(label, Math.round(performance.now() - t0), 'ms');
};
for (let i = 0; i < 2; i++) {
  await time('kiln -> /dev/null', [
    '-s',
    '-o',
    '/dev/null',
    '-H',
    auth,
    `${url}/api/storage/buckets/b/objects/big.bin`,
  ]);
  await time('bare -> /dev/null', [
    '-s',
    '-o',
    '/dev/null',
    `http://127.0.0.1:${bare.address().port}/`,
  ]);
  await time('kiln -> file', [
    '-s',
    '-o',
    `${work}/out.bin`,
    '-H',
    auth,
    `${url}/api/storage/buckets/b/objects/big.bin`,
  ]);
  await time('bare -> file', [
    '-s',
    '-o',
    `${work}/out.bin`,
    `http://127.0.0.1:${bare.address().port}/`,
  ]);
}
bare.close();
await kiln.stop();
fs.rmSync(work, { recursive: true, force: true });
process.exit(0);
