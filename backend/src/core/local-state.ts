import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

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
  fs.mkdirSync(dataDir, { recursive: true });
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
    fs.writeFileSync(tmp, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
  return secrets;
}

/**
 * An exclusive claim on DATA_DIR for one Kiln process (the embedded PostgreSQL cluster in it
 * can serve only one). Throws a clear error when another live process holds it.
 */
export function claimDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'kiln.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
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
