import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterCommit, Database, type Principal } from '../src/core/db.js';
import { migrate, withBootstrapLock } from '../src/core/migrate.js';
import { createTestDatabase, dropTestDatabase, pgUrl } from './helpers.js';

let dbName: string;
let db: Database;
beforeAll(async () => {
  dbName = await createTestDatabase();
  db = new Database({ connectionString: pgUrl(dbName), max: 4, statementTimeoutMs: 5000 });
  await db.query(`
    CREATE TABLE public.notes (
      id serial PRIMARY KEY,
      owner uuid NOT NULL DEFAULT auth.uid(),
      body text NOT NULL
    );
    ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_owner ON public.notes FOR ALL TO authenticated
      USING (owner = auth.uid()) WITH CHECK (owner = auth.uid());
    CREATE POLICY notes_anon_read ON public.notes FOR SELECT TO anon USING (body LIKE 'public:%');
  `);
});
afterAll(async () => {
  await db?.close();
  if (dbName) await dropTestDatabase(dbName);
});

const user = (sub: string, email = `${sub.slice(0, 8)}@example.com`): Principal => ({
  role: 'authenticated',
  sub,
  email,
  credential: 'jwt',
  claims: { sub, role: 'authenticated', email },
});
const anon: Principal = { role: 'anon', credential: 'anon_key', claims: { role: 'anon' } };
const admin: Principal = {
  role: 'project_admin',
  credential: 'api_key',
  claims: { role: 'project_admin' },
};

describe('db.withPrincipal', () => {
  it('sets the role and the claims read by auth.uid(), auth.role(), auth.email(), auth.jwt()', async () => {
    const sub = crypto.randomUUID();
    const row = await db.withPrincipal(user(sub, "o'brien@example.com"), async (tx) => {
      const { rows } = await tx.query(
        `SELECT current_user AS role, auth.uid() AS uid, auth.role() AS claim_role, auth.email() AS email, auth.jwt() AS jwt`,
      );
      return rows[0];
    });
    expect(row).toEqual({
      role: 'authenticated',
      uid: sub,
      claim_role: 'authenticated',
      email: "o'brien@example.com",
      jwt: { sub, role: 'authenticated', email: "o'brien@example.com" },
    });
    const anonRow = await db.withPrincipal(
      anon,
      async (tx) => (await tx.query('SELECT current_user AS role, auth.uid() AS uid')).rows[0],
    );
    expect(anonRow).toEqual({ role: 'anon', uid: null });
  });

  it('lets RLS policies scope rows to the caller', async () => {
    const alice = crypto.randomUUID();
    const bob = crypto.randomUUID();
    await db.withPrincipal(user(alice), (tx) =>
      tx.query(`INSERT INTO notes (body) VALUES ('alice private'), ('public:alice')`),
    );
    await db.withPrincipal(user(bob), (tx) =>
      tx.query(`INSERT INTO notes (body) VALUES ('bob private')`),
    );

    const aliceSees = await db.withPrincipal(user(alice), async (tx) =>
      (await tx.query('SELECT body FROM notes ORDER BY id')).rows.map((r) => r.body),
    );
    expect(aliceSees).toEqual(['alice private', 'public:alice']);
    const anonSees = await db.withPrincipal(anon, async (tx) =>
      (await tx.query('SELECT body FROM notes')).rows.map((r) => r.body),
    );
    expect(anonSees).toEqual(['public:alice']);
    const adminSees = await db.withPrincipal(
      admin,
      async (tx) => (await tx.query('SELECT count(*)::int AS n FROM notes')).rows[0]!.n,
    );
    expect(adminSees).toBe(3);

    // Writing a row for someone else is refused by WITH CHECK.
    await expect(
      db.withPrincipal(user(bob), (tx) =>
        tx.query(`INSERT INTO notes (owner, body) VALUES ($1, 'forged')`, [alice]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('rolls back on error and leaves no role or claims behind on the pooled connection', async () => {
    const sub = crypto.randomUUID();
    await expect(
      db.withPrincipal(user(sub), async (tx) => {
        await tx.query(`INSERT INTO notes (body) VALUES ('rolled back')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM notes WHERE body = 'rolled back'`,
    );
    expect(rows[0]!.n).toBe(0);
    // Every pooled connection is back to the system role with no claims.
    const checks = await Promise.all(
      Array.from({ length: 4 }, () =>
        db.query(
          `SELECT current_user AS role, auth.uid() AS uid, current_setting('request.jwt.claims', true) AS claims`,
        ),
      ),
    );
    for (const c of checks)
      expect(c.rows[0]).toMatchObject({
        role: expect.not.stringMatching(/^(anon|authenticated|project_admin)$/),
        uid: null,
      });
  });

  it('keeps claims from injecting SQL', async () => {
    const evil: Principal = {
      role: 'authenticated',
      sub: crypto.randomUUID(),
      credential: 'jwt',
      claims: { role: 'authenticated', email: `x'); DROP TABLE notes; --` },
    };
    const email = await db.withPrincipal(
      evil,
      async (tx) => (await tx.query(`SELECT auth.email() AS e`)).rows[0]!.e,
    );
    expect(email).toBe(`x'); DROP TABLE notes; --`);
    expect((await db.query(`SELECT to_regclass('public.notes') AS t`)).rows[0]!.t).toBe('notes');
  });

  it('refuses a role outside the fixed set', async () => {
    await expect(
      db.withPrincipal({ role: 'postgres' as never, credential: 'jwt', claims: {} }, async () => 1),
    ).rejects.toThrow(/Unknown role/);
  });

  /** A one-connection Database that counts round trips (ReadyForQuery messages). */
  async function counted(options: { userStatementTimeoutMs?: number } = {}) {
    const small = new Database({
      connectionString: pgUrl(dbName),
      max: 1,
      statementTimeoutMs: 0,
      ...options,
    });
    const trips = { n: 0 };
    small.principalPool.on('connect', (c) => {
      (c as unknown as { connection: NodeJS.EventEmitter }).connection.on('readyForQuery', () => {
        trips.n++;
      });
    });
    // Connect first, so the count starts at the first transaction.
    (await small.principalPool.connect()).release();
    trips.n = 0;
    return { small, trips };
  }

  it('adds one round trip of its own: BEGIN+role+claims travel with the first statement, then COMMIT', async () => {
    const { small, trips } = await counted();
    try {
      const role = await small.withPrincipal(anon, async (tx) => {
        expect(trips.n).toBe(0); // nothing sent before the first statement
        const r = (await tx.query('SELECT current_user AS r, $1::int AS one', [1])).rows[0];
        expect(trips.n).toBe(1);
        expect(r.one).toBe(1);
        return r.r;
      });
      expect(role).toBe('anon');
      expect(trips.n).toBe(2);
      // A first query without values (it may hold several statements) follows the preamble.
      trips.n = 0;
      const both = await small.withPrincipal(anon, async (tx) => {
        const r = await tx.query('SELECT current_user AS r; SELECT 2 AS two');
        return r as unknown as { rows: { r?: string; two?: number }[] }[];
      });
      expect(both.map((x) => x.rows[0])).toEqual([{ r: 'anon' }, { two: 2 }]);
      expect(trips.n).toBe(3);
      // A transaction that sent nothing costs nothing.
      trips.n = 0;
      expect(await small.withPrincipal(anon, async () => 'idle')).toBe('idle');
      expect(trips.n).toBe(0);
    } finally {
      await small.close();
    }
  });

  it("a first statement that fails in the preamble's pipeline rolls back and frees the connection", async () => {
    const { small } = await counted();
    try {
      const err: unknown = await small
        .withPrincipal(anon, (tx) => tx.query('SELECT 1 / $1::int', [0]))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((err as { code?: string }).code).toBe('22012');
      // A statement the caller survives: its COMMIT rolls back; the connection is clean after.
      const survived = await small.withPrincipal(user(crypto.randomUUID()), async (tx) => {
        await tx.query('INSERT INTO public.notes (body) VALUES ($1)', ['x']).catch(() => null);
        await tx.query('SELECT 1 / $1::int', [0]).catch(() => null);
        return 'survived';
      });
      expect(survived).toBe('survived');
      const role = await small.withPrincipal(anon, async (tx) => {
        const { rows } = await tx.query('SELECT current_user AS r, $1::text AS t', ['ok']);
        return `${rows[0].r}/${rows[0].t}`;
      });
      expect(role).toBe('anon/ok');
    } finally {
      await small.close();
    }
  });

  it('statementAsPrincipal sends BEGIN, role, claims, the statement and COMMIT in one round trip', async () => {
    const sub = crypto.randomUUID();
    await db.withPrincipal(user(sub), (tx) =>
      tx.query("INSERT INTO public.notes (body) VALUES ('mine'), ($1)", ["it's mine too"]),
    );
    const { small, trips } = await counted();
    try {
      const { rows } = await small.statementAsPrincipal<{ body: string; uid: string; ro: string }>(
        user(sub),
        {
          text: `SELECT body, auth.uid() AS uid, current_setting('transaction_read_only') AS ro,
                   current_setting('request.path') AS path
                 FROM public.notes WHERE body = ANY($1) ORDER BY id`,
          values: [['mine', "it's mine too", 'not mine']],
        },
        { readOnly: true, settings: { 'request.path': '/p' } },
      );
      expect(rows).toEqual([
        { body: 'mine', uid: sub, ro: 'on', path: '/p' },
        { body: "it's mine too", uid: sub, ro: 'on', path: '/p' },
      ]);
      expect(trips.n).toBe(1);
      // Another caller on the same connection sees none of it: the transaction ended.
      const { rows: other } = await small.statementAsPrincipal(user(crypto.randomUUID()), {
        text: 'SELECT count(*)::int AS n FROM public.notes',
      });
      expect(other).toEqual([{ n: 0 }]);
    } finally {
      await small.close();
    }
  });

  it('statementAsPrincipal: a failed statement rolls back, applies the statement timeout, and leaves the connection usable', async () => {
    const { small } = await counted({ userStatementTimeoutMs: 50 });
    try {
      const me = user(crypto.randomUUID());
      await expect(
        small.statementAsPrincipal(me, { text: 'SELECT 1 / $1::int', values: [0] }),
      ).rejects.toMatchObject({ code: '22012' });
      await expect(
        small.statementAsPrincipal(me, { text: 'SELECT pg_sleep(5)' }),
      ).rejects.toMatchObject({ code: '57014' });
      // Read only: a write is refused and nothing is written.
      await expect(
        small.statementAsPrincipal(
          me,
          { text: "INSERT INTO public.notes (body) VALUES ('x') RETURNING id" },
          { readOnly: true },
        ),
      ).rejects.toMatchObject({ code: '25006' });
      const { rows } = await small.statementAsPrincipal(me, {
        text: "SELECT current_setting('transaction_read_only') AS ro, (SELECT count(*)::int FROM public.notes) AS n",
      });
      expect(rows).toEqual([{ ro: 'off', n: 0 }]);
    } finally {
      await small.close();
    }
  });
});

describe('system migrations', () => {
  it('are recorded in system.migrations and idempotent', async () => {
    const applied = await withBootstrapLock(pgUrl(dbName), (c) => migrate(c));
    expect(applied).toEqual([]);
    const { rows } = await db.query('SELECT name FROM system.migrations ORDER BY id');
    expect(rows.map((r) => r.name)).toContain('0001_foundation');
  });

  it('do not race when several instances start at once on an empty database', async () => {
    const fresh = await createTestDatabase({ empty: true });
    try {
      const url = pgUrl(fresh);
      const results = await Promise.all(
        Array.from({ length: 4 }, () => withBootstrapLock(url, (c) => migrate(c))),
      );
      // Exactly one instance applied each migration; the others waited and found nothing to do.
      expect(results.filter((r) => r.length > 0)).toHaveLength(1);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(
          'SELECT name, count(*)::int AS n FROM system.migrations GROUP BY name',
        );
        expect(rows.length).toBeGreaterThan(0);
        for (const r of rows) expect(r.n).toBe(1);
        const { rows: cfg } = await client.query('SELECT count(*)::int AS n FROM auth.config');
        expect(cfg[0].n).toBe(1);
      } finally {
        await client.end();
      }
    } finally {
      await dropTestDatabase(fresh);
    }
  });
});

describe('afterCommit', () => {
  it('runs once the transaction commits, before it returns; never when it rolls back', async () => {
    const ran: string[] = [];
    const committed = await db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      afterCommit(tx, () => ran.push('committed'));
      expect(ran).toEqual([]);
      return 'done';
    });
    expect([committed, ran]).toEqual(['done', ['committed']]);
    // Thrown: rolled back.
    await expect(
      db.withPrincipal(anon, async (tx) => {
        await tx.query('SELECT 1');
        afterCommit(tx, () => ran.push('thrown'));
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    // A failed statement the caller survives: its COMMIT rolls back.
    await db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      afterCommit(tx, () => ran.push('survived'));
      await tx.query('SELECT 1 / $1::int', [0]).catch(() => null);
    });
    expect(ran).toEqual(['committed']);
    // Outside such a transaction there is no commit to wait for.
    const client = await db.pool.connect();
    try {
      expect(() => afterCommit(client, () => undefined)).toThrow(/not in a/);
    } finally {
      client.release();
    }
  });
});
