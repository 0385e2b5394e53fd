import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Modes of everything Kiln creates under DATA_DIR: its own user only. */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Secrets Kiln generates for a development install and keeps under DATA_DIR. */
export interface LocalSecrets {
  jwtSecret: string;
  adminPassword: string;
  postgresPassword: string;
}

/**
 * Reads `DATA_DIR/secrets.json`, creating it (mode 600) with random values on first run.
 * Values present in the file are kept, so restarts reuse the same secrets.
 */
export function loadOrCreateLocalSecrets(dataDir: string): LocalSecrets {
  fs.mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const file = path.join(dataDir, 'secrets.json');
  let stored: Partial<LocalSecrets> = {};
  if (fs.existsSync(file)) {
    try {
      stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LocalSecrets>;
    } catch {
      throw new Error(`${file} is not valid JSON; fix or remove it (a new one will be generated).`);
    }
  }
  const secrets: LocalSecrets = {
    jwtSecret: stored.jwtSecret ?? crypto.randomBytes(48).toString('base64url'),
    adminPassword: stored.adminPassword ?? crypto.randomBytes(12).toString('base64url'),
    postgresPassword: stored.postgresPassword ?? crypto.randomBytes(24).toString('hex'),
  };
  if (JSON.stringify(stored) !== JSON.stringify(secrets)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(secrets, null, 2) + '\n', { mode: PRIVATE_FILE_MODE });
    fs.renameSync(tmp, file);
  }
  return secrets;
}

/**
 * An exclusive claim on DATA_DIR for one Kiln process (the embedded PostgreSQL cluster in it
 * can serve only one). Throws a clear error when another live process holds it.
 */
export function claimDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const file = path.join(dataDir, 'kiln.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', PRIVATE_FILE_MODE);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readOr(file, ''), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(
          `DATA_DIR ${dataDir} is in use by another Kiln process (pid ${holder}). ` +
            'Stop it first, or give this instance its own DATA_DIR or a shared DATABASE_URL.',
        );
      }
      fs.rmSync(file, { force: true }); // stale claim from a process that is gone
    }
  }
  throw new Error(`Could not claim DATA_DIR ${dataDir}`);
}

/**
 * DATA_DIR holds Kiln's secrets, logs (with requests and function output), stored files and
 * the Deno cache: none of it is for other users of the machine. Creates DATA_DIR 0700, and
 * takes every group and other permission away from DATA_DIR and what is in it, so an install
 * made before Kiln set its modes (folders 0755, files 0644) is private from this start on.
 *
 * `skip` names entries left alone: the embedded PostgreSQL cluster (`postgres`), whose modes
 * PostgreSQL sets and checks itself. Symlinks are never followed. A folder that is already
 * private is not walked again (everything Kiln creates in it is private too), so a large
 * storage tree costs one walk, on the first start after an upgrade.
 *
 * Returns how many entries were changed and those that could not be (not Kiln's to change).
 */
export function secureDataDir(
  dataDir: string,
  skip: readonly string[] = ['postgres'],
): { tightened: number; failed: string[] } {
  const result = { tightened: 0, failed: [] as string[] };
  fs.mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const tighten = (entry: string, everything: boolean) => {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(entry);
    } catch {
      return; // gone meanwhile
    }
    if (stat.isSymbolicLink()) return;
    const loose = (stat.mode & 0o077) !== 0;
    if (loose) {
      try {
        fs.chmodSync(entry, stat.mode & 0o700);
        result.tightened++;
      } catch {
        result.failed.push(entry);
      }
    }
    if (stat.isDirectory() && (loose || everything)) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(entry);
      } catch {
        result.failed.push(entry);
      }
      for (const name of names) tighten(path.join(entry, name), true);
    }
  };
  // Run as root, the embedded PostgreSQL server is given the group's pass-through bit on DATA_DIR
  // again once this is done (core/embedded-postgres.ts): taking that one away is no news.
  const stat = fs.statSync(dataDir);
  if ((stat.mode & 0o077) !== 0) {
    try {
      fs.chmodSync(dataDir, stat.mode & 0o700);
      if ((stat.mode & 0o077) !== 0o010) result.tightened++;
    } catch {
      result.failed.push(dataDir);
    }
  }
  // Each entry is looked at on every start (a handful); their contents only when loose.
  for (const name of fs.readdirSync(dataDir)) {
    if (!skip.includes(name)) tighten(path.join(dataDir, name), false);
  }
  return result;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
