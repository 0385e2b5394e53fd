import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

/**
 * A POSIX ustar stream of a directory tree (regular files and directories only), written
 * entry by entry so a multi-gigabyte backup is never held in memory. Names longer than ustar's
 * 100 + 155 bytes are refused (a cluster's paths are short).
 */
export function tarDirectory(dir: string, prefix: string): Readable {
  async function* entries(): AsyncGenerator<Buffer> {
    const walk = function* (rel: string): Generator<{ rel: string; stat: fs.Stats }> {
      const abs = path.join(dir, rel);
      for (const name of fs.readdirSync(abs).sort()) {
        const childRel = rel ? `${rel}/${name}` : name;
        const stat = fs.lstatSync(path.join(dir, childRel));
        if (stat.isDirectory()) {
          yield { rel: childRel, stat };
          yield* walk(childRel);
        } else if (stat.isFile()) yield { rel: childRel, stat };
      }
    };
    for (const { rel, stat } of walk('')) {
      const name = `${prefix}/${rel}${stat.isDirectory() ? '/' : ''}`;
      const size = stat.isDirectory() ? 0 : stat.size;
      yield header(name, size, stat);
      if (size) {
        let sent = 0;
        for await (const chunk of fs.createReadStream(path.join(dir, rel), { end: size - 1 })) {
          sent += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (sent !== size) throw new Error(`${rel} changed while being sent`);
        if (size % 512) yield Buffer.alloc(512 - (size % 512));
      }
    }
    yield Buffer.alloc(1024); // two zero blocks end the archive
  }
  return Readable.from(entries());
}

function header(name: string, size: number, stat: fs.Stats): Buffer {
  const block = Buffer.alloc(512);
  let base = name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
    if (Buffer.byteLength(base) > 100 || Buffer.byteLength(prefix) > 155) {
      throw new Error(`Path too long for a tar header: ${name}`);
    }
  }
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0') + '\0';
  block.write(base, 0, 100, 'utf8');
  block.write(octal(stat.mode & 0o7777, 8), 100, 8, 'ascii');
  block.write(octal(0, 8), 108, 8, 'ascii');
  block.write(octal(0, 8), 116, 8, 'ascii');
  block.write(octal(size, 12), 124, 12, 'ascii');
  block.write(octal(Math.floor(stat.mtimeMs / 1000), 12), 136, 12, 'ascii');
  block.write('        ', 148, 8, 'ascii'); // checksum counted as spaces
  block.write(stat.isDirectory() ? '5' : '0', 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}
