import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgrestClient } from '@supabase/postgrest-js';
import { createClient } from '@insforge/sdk';
import { fixture, startTestApp, type TestApp } from './helpers.js';

/**
 * Embedding as PostgREST 12/13 does it (issue 20): hints and disambiguation, spreads, aggregates,
 * computed fields and relationships, execution plans. Scenario by scenario through
 * @supabase/postgrest-js (and, where it applies, @insforge/sdk's database module, which runs
 * postgrest-js against /api/database/records); every scenario checks the status and the headers
 * as well as the body. Fixture: test/fixtures/embeds.sql.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    {},
    { DB_AGGREGATES_ENABLED: 'true', DB_PLAN_ENABLED: 'true' },
    { setupSql: fixture('embeds.sql') },
  );
});
afterAll(async () => {
  await t?.stop();
});

type Db = Pick<PostgrestClient, 'from' | 'rpc'>;
type Builder = PromiseLike<{ data: unknown; error: unknown; status: number }>;

interface Answer {
  status: number;
  data: unknown;
  error: unknown;
  headers: Headers;
}

/** postgrest-js with a fetch that keeps the last response's headers. */
function postgrestJs(headers: Record<string, string> = {}) {
  let last: Headers = new Headers();
  const db = new PostgrestClient(`${t.baseUrl}/api/database/records`, {
    headers: { Authorization: `Bearer ${t.anonKey}`, ...headers },
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      last = res.headers;
      return res;
    },
  });
  return { db: db as Db, headers: () => last };
}

async function viaPostgrestJs(query: (db: Db) => Builder): Promise<Answer> {
  const client = postgrestJs();
  const { status, data, error } = await query(client.db);
  return { status, data, error, headers: client.headers() };
}

async function viaSdk(query: (db: Db) => Builder) {
  const db = createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, retryCount: 0 })
    .database as unknown as Db;
  const { status, data, error } = await query(db);
  return { status, data, error };
}

/** Rows sorted by one key (nulls last), for answers whose order SQL leaves open. */
function sortBy(rows: unknown, key: string): unknown[] {
  const value = (r: unknown) => (r as Record<string, unknown>)[key];
  return [...(rows as unknown[])].sort((a, b) =>
    value(a) === value(b)
      ? 0
      : value(a) === null
        ? 1
        : value(b) === null
          ? -1
          : String(value(a)) < String(value(b))
            ? -1
            : 1,
  );
}

interface Scenario {
  name: string;
  query: (db: Db) => Builder;
  status?: number;
  /** The rows (or object) postgrest-js returns. */
  data?: unknown;
  /** PostgREST's error body (partial). */
  error?: Record<string, unknown>;
  /** Content-Range when it matters (default: checked against the row count; null: none). */
  range?: string | null;
  /** The exact Content-Type (default: JSON). */
  contentType?: string;
  check?: (a: Answer) => void;
  /** Also through @insforge/sdk (default true). */
  sdk?: boolean;
}

function scenarios(title: string, list: Scenario[]) {
  describe(title, () => {
    for (const s of list) {
      it(s.name, async () => {
        const a = await viaPostgrestJs(s.query);
        const status = s.status ?? 200;
        if (a.status !== status)
          throw new Error(`expected ${status}, got ${a.status}: ${JSON.stringify(a.error)}`);
        if (s.error) {
          expect(a.error).toMatchObject(s.error);
          expect(a.headers.get('content-type')).toMatch(/^application\/json/);
        } else {
          expect(a.error).toBeNull();
          if ('data' in s) expect(a.data).toEqual(s.data);
          if (s.contentType) expect(a.headers.get('content-type')).toBe(s.contentType);
          else expect(a.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8/);
          const rows = Array.isArray(a.data) ? a.data.length : 1;
          expect(a.headers.get('content-range')).toBe(
            s.range !== undefined ? s.range : rows === 0 ? '*/*' : `0-${rows - 1}/*`,
          );
        }
        s.check?.(a);
        if (s.sdk !== false) {
          const b = await viaSdk(s.query);
          expect({ status: b.status, data: b.data, error: b.error }).toEqual({
            status: a.status,
            data: a.data,
            error: a.error,
          });
        }
      });
    }
  });
}

scenarios('hints and disambiguation', [
  {
    name: 'embed by the FK column name (username → users)',
    query: (db) => db.from('collections').select('name,username(full_name)').eq('id', 2),
    data: [{ name: 'papers', username: { full_name: 'Ada Lovelace' } }],
  },
  {
    name: 'embed by the FK column name with an alias, next to the column itself',
    query: (db) =>
      db.from('collections').select('name,username,owner:username(full_name)').eq('id', 3),
    data: [{ name: 'notes', username: 'alan', owner: { full_name: 'Alan Turing' } }],
  },
  {
    name: 'embed by the constraint name',
    query: (db) => db.from('messages').select('body,messages_sender_fkey(username)').eq('id', 1),
    data: [{ body: 'hello', messages_sender_fkey: { username: 'ada' } }],
  },
  {
    name: 'two FKs to one table are ambiguous: 300 PGRST201 with details and hint',
    query: (db) => db.from('messages').select('body,users(username)'),
    status: 300,
    error: {
      code: 'PGRST201',
      message:
        "Could not embed because more than one relationship was found for 'messages' and 'users'",
      details: [
        {
          cardinality: 'many-to-one',
          embedding: 'messages with users',
          relationship: 'messages_receiver_fkey using messages(receiver_id) and users(id)',
        },
        {
          cardinality: 'many-to-one',
          embedding: 'messages with users',
          relationship: 'messages_sender_fkey using messages(sender_id) and users(id)',
        },
      ],
      hint: "Try changing 'users' to one of the following: 'users!messages_receiver_fkey', 'users!messages_sender_fkey'. Find the desired relationship in the 'details' key.",
    },
  },
  {
    name: 'the same table twice with aliases and !constraint / !fk_column hints',
    query: (db) =>
      db
        .from('messages')
        .select('body,from:users!messages_sender_fkey(username),to:users!receiver_id(username)')
        .order('id'),
    data: [
      { body: 'hello', from: { username: 'ada' }, to: { username: 'alan' } },
      { body: 'reply', from: { username: 'alan' }, to: { username: 'ada' } },
      { body: 'ping', from: { username: 'grace' }, to: { username: 'ada' } },
    ],
  },
  {
    name: 'the reverse direction with a hint: one-to-many, twice',
    query: (db) =>
      db
        .from('users')
        .select(
          'username,sent:messages!sender_id(body),received:messages!messages_receiver_fkey(body)',
        )
        .eq('username', 'ada'),
    data: [
      {
        username: 'ada',
        sent: [{ body: 'hello' }],
        received: [{ body: 'reply' }, { body: 'ping' }],
      },
    ],
  },
  {
    name: 'filters address an embed by its alias',
    query: (db) =>
      db
        .from('messages')
        .select('id,from:users!sender_id!inner(username)')
        .eq('from.username', 'grace'),
    data: [{ id: 3, from: { username: 'grace' } }],
  },
  {
    name: 'a filter that names the table of an aliased embed is PGRST108',
    query: (db) =>
      db.from('messages').select('id,from:users!sender_id(username)').eq('users.username', 'ada'),
    status: 400,
    error: {
      code: 'PGRST108',
      message: "'users' is not an embedded resource in this request",
      details: 'Target names are not allowed in filters if they have an alias',
      hint: "Change 'users' to 'from' in filters, orders or limits.",
    },
  },
  {
    name: 'self-reference: the FK column embeds the parent (to-one)',
    query: (db) =>
      db
        .from('collections')
        .select('name,parent:parent_id(name,parent:parent_id(name))')
        .eq('id', 4),
    data: [{ name: 'drafts', parent: { name: 'papers', parent: { name: 'root' } } }],
  },
  {
    name: 'self-reference: the table name embeds the children (to-many)',
    query: (db) =>
      db
        .from('collections')
        .select('name,children:collections(name)')
        .eq('id', 1)
        .order('id', { referencedTable: 'children' }),
    data: [{ name: 'root', children: [{ name: 'papers' }, { name: 'notes' }] }],
  },
  {
    name: 'self-reference: table!fk_column embeds the children',
    query: (db) =>
      db
        .from('collections')
        .select('name,sub:collections!parent_id(name,sub:collections!parent_id(name))')
        .eq('id', 1)
        .order('id', { referencedTable: 'sub' }),
    data: [
      {
        name: 'root',
        sub: [
          { name: 'papers', sub: [{ name: 'drafts' }] },
          { name: 'notes', sub: [] },
        ],
      },
    ],
  },
  {
    name: 'self-reference: table!constraint embeds the children too',
    query: (db) =>
      db.from('collections').select('name,collections!collections_parent_fkey(name)').eq('id', 2),
    data: [{ name: 'papers', collections: [{ name: 'drafts' }] }],
  },
  {
    name: 'many-to-many through the junction, and !junction as a hint',
    query: (db) =>
      db
        .from('collections')
        .select('name,tags(label),t:tags!collection_tags(label)')
        .eq('id', 1)
        .order('id', { referencedTable: 'tags' })
        .order('id', { referencedTable: 't' }),
    data: [
      {
        name: 'root',
        tags: [{ label: 'math' }, { label: 'computing' }],
        t: [{ label: 'math' }, { label: 'computing' }],
      },
    ],
  },
  {
    name: '!inner keeps only parents with a match; !left keeps every parent',
    query: (db) =>
      db
        .from('users')
        .select('username,a:collections!inner(name),b:collections!left(name)')
        .eq('a.name', 'notes')
        .eq('b.name', 'notes'),
    data: [{ username: 'alan', a: [{ name: 'notes' }], b: [{ name: 'notes' }] }],
  },
  {
    name: 'an empty embed filters without appearing in the answer',
    query: (db) =>
      db
        .from('users')
        .select('username,collections()')
        .eq('collections.name', 'drafts')
        .not('collections', 'is', null),
    data: [{ username: 'ada' }],
  },
  {
    name: 'an empty embed with is.null is an anti-join',
    query: (db) => db.from('users').select('username,collections()').is('collections', null),
    data: [{ username: 'grace' }],
  },
  {
    name: 'no relationship is 400 PGRST200',
    query: (db) => db.from('tags').select('label,messages(body)'),
    status: 400,
    error: {
      code: 'PGRST200',
      message: "Could not find a relationship between 'tags' and 'messages' in the schema cache",
      details:
        "Searched for a foreign key relationship between 'tags' and 'messages' in the schema 'public', but no matches were found.",
      hint: null,
    },
  },
  {
    name: 'a near miss is 400 PGRST200 with a "Perhaps you meant" hint',
    query: (db) => db.from('collections').select('name,user(full_name)'),
    status: 400,
    error: {
      code: 'PGRST200',
      message: "Could not find a relationship between 'collections' and 'user' in the schema cache",
      hint: "Perhaps you meant 'users' instead of 'user'.",
    },
  },
  {
    name: 'a hint that matches nothing is 400 PGRST200 naming the hint',
    query: (db) => db.from('messages').select('body,users!nope(username)'),
    status: 400,
    error: {
      code: 'PGRST200',
      details:
        "Searched for a foreign key relationship between 'messages' and 'users' using the hint 'nope' in the schema 'public', but no matches were found.",
    },
  },
]);

scenarios('spread embeds', [
  {
    name: 'a to-one spread lifts the columns into the parent',
    query: (db) =>
      db.from('collections').select('name,...username(owner:full_name,country)').eq('id', 3),
    data: [{ name: 'notes', owner: 'Alan Turing', country: 'UK' }],
  },
  {
    name: 'a to-one spread with nothing to embed gives nulls',
    query: (db) => db.from('collections').select('name,...username(owner:full_name)').eq('id', 5),
    data: [{ name: 'orphan', owner: null }],
  },
  {
    name: 'nested to-one spreads and a normal embed inside a spread',
    query: (db) =>
      db
        .from('collections')
        .select(
          'name,...parent_id(parent:name,...username(parent_owner:username)),username(country)',
        )
        .eq('id', 4),
    data: [{ name: 'drafts', parent: 'papers', parent_owner: 'ada', username: { country: 'UK' } }],
  },
  {
    name: 'a to-many spread makes one array per column, in the embed order',
    query: (db) =>
      db
        .from('users')
        .select('username,...collections(names:name,ids:id)')
        .order('id')
        .order('id', { referencedTable: 'collections', ascending: false }),
    data: [
      { username: 'ada', names: ['drafts', 'papers', 'root'], ids: [4, 2, 1] },
      { username: 'alan', names: ['notes'], ids: [3] },
      { username: 'grace', names: [], ids: [] },
    ],
  },
  {
    name: 'a many-to-many spread, with a nested to-many spread giving arrays of arrays',
    query: (db) =>
      db
        .from('users')
        .select('username,...collections(names:name,...tags(labels:label))')
        .eq('username', 'ada')
        .order('id', { referencedTable: 'collections' })
        .order('id', { referencedTable: 'collections.tags' }),
    data: [
      {
        username: 'ada',
        names: ['root', 'papers', 'drafts'],
        labels: [['math', 'computing'], ['computing'], []],
      },
    ],
  },
  {
    name: 'a to-many spread of every column, with is.null on the spread',
    query: (db) => db.from('users').select('full_name,...collections(*)').is('collections', null),
    data: [{ full_name: 'Grace Hopper', id: [], name: [], username: [], parent_id: [] }],
  },
]);

scenarios('aggregates (DB_AGGREGATES_ENABLED=true)', [
  {
    name: 'sum() of a column over every row',
    query: (db) => db.from('orders').select('amount.sum()'),
    data: [{ sum: 44.5 }],
  },
  {
    name: 'count() with implicit grouping by the other columns',
    query: (db) => db.from('orders').select('status,count()').order('status'),
    data: [
      { status: 'open', count: 2 },
      { status: 'paid', count: 3 },
    ],
  },
  {
    name: 'aliases, a count of non-null values, avg cast to int, min and max',
    query: (db) =>
      db
        .from('orders')
        .select(
          'username,orders:count(),with_qty:quantity.count(),mean:amount.avg()::int,lo:amount.min(),hi:amount.max()',
        )
        .order('username'),
    data: [
      { username: 'ada', orders: 3, with_qty: 2, mean: 12, lo: 5, hi: 20.25 },
      { username: 'alan', orders: 1, with_qty: 1, mean: 8, lo: 7.75, hi: 7.75 },
      { username: 'grace', orders: 1, with_qty: 1, mean: 1, lo: 1, hi: 1 },
    ],
  },
  {
    name: 'a cast before aggregating: amount::int.sum()',
    query: (db) => db.from('orders').select('amount::int.sum()').eq('username', 'ada'),
    data: [{ sum: 36 }],
  },
  {
    name: 'grouped by a to-one embed, with filters',
    query: (db) =>
      db.from('orders').select('total:amount.sum(),users(country)').eq('status', 'paid'),
    data: [{ total: 38.5, users: { country: 'UK' } }],
  },
  {
    name: 'grouped by a to-one spread',
    query: (db) => db.from('orders').select('total:amount.sum(),...users(country)'),
    check: (a) =>
      expect(sortBy(a.data, 'country')).toEqual([
        { total: 43.5, country: 'UK' },
        { total: 1, country: 'US' },
      ]),
  },
  {
    name: 'aggregates inside an embed group within each parent',
    query: (db) =>
      db
        .from('users')
        .select('username,orders(status,amount.sum())')
        .eq('username', 'ada')
        .order('status', { referencedTable: 'orders' }),
    data: [
      {
        username: 'ada',
        orders: [
          { status: 'open', sum: 5 },
          { status: 'paid', sum: 30.75 },
        ],
      },
    ],
  },
  {
    name: 'aggregates inside a to-one spread are computed by the parent',
    query: (db) => db.from('collections').select('...username(country,n:id.count())'),
    check: (a) =>
      expect(sortBy(a.data, 'country')).toEqual([
        { country: 'UK', n: 4 },
        { country: null, n: 0 },
      ]),
  },
  {
    name: 'an exact count counts the groups',
    query: (db) => db.from('orders').select('status,count()', { count: 'exact' }).order('status'),
    data: [
      { status: 'open', count: 2 },
      { status: 'paid', count: 3 },
    ],
    range: '0-1/2',
  },
  {
    name: 'an unknown column in an aggregate is 400 42703',
    query: (db) => db.from('orders').select('nope.sum()'),
    status: 400,
    error: { code: '42703' },
  },
]);

describe('aggregates and plans when disabled (the default)', () => {
  it('aggregates answer 400 PGRST123, plans 406 PGRST107', async () => {
    const off = await startTestApp({}, {}, { setupSql: fixture('embeds.sql') });
    try {
      const db = new PostgrestClient(`${off.baseUrl}/api/database/records`, {
        headers: { Authorization: `Bearer ${off.anonKey}` },
      });
      for (const select of [
        'amount.sum()',
        'count()',
        'total:amount::int.sum()',
        'users(id.max())',
      ]) {
        const { status, error } = await db.from('orders').select(select);
        expect(status).toBe(400);
        expect(error).toMatchObject({
          code: 'PGRST123',
          message: 'Use of aggregate functions is not allowed',
        });
      }
      const plan = await db.from('orders').select('id').explain({ format: 'json' });
      expect(plan.status).toBe(406);
      expect(plan.error).toMatchObject({ code: 'PGRST107' });
    } finally {
      await off.stop();
    }
  });
});

scenarios('computed fields and computed relationships', [
  {
    name: 'a computed field is selected like a column (with an alias), never by *',
    query: (db) => db.from('users').select('username,display_name,label:display_name').eq('id', 1),
    data: [{ username: 'ada', display_name: 'Ada Lovelace (ada)', label: 'Ada Lovelace (ada)' }],
    check: (a) => expect(Object.keys((a.data as object[])[0]!)).toHaveLength(3),
  },
  {
    name: 'filters and order on computed fields',
    query: (db) =>
      db
        .from('collections')
        .select('name,depth')
        .gte('depth', 1)
        .order('depth', { ascending: false })
        .order('id'),
    data: [
      { name: 'drafts', depth: 2 },
      { name: 'papers', depth: 1 },
      { name: 'notes', depth: 1 },
    ],
  },
  {
    name: 'a computed field in or=() and inside an embed, with its filter there',
    query: (db) =>
      db
        .from('collections')
        .select('name,username(display_name)')
        .or('depth.eq.2,name.eq.root')
        .order('id'),
    data: [
      { name: 'root', username: { display_name: 'Ada Lovelace (ada)' } },
      { name: 'drafts', username: { display_name: 'Ada Lovelace (ada)' } },
    ],
  },
  {
    name: 'a computed relationship with ROWS 1 embeds one object',
    query: (db) =>
      db.from('collections').select('name,owner(username)').in('id', [3, 5]).order('id'),
    data: [
      { name: 'notes', owner: { username: 'alan' } },
      { name: 'orphan', owner: null },
    ],
  },
  {
    name: 'a computed relationship returning one row (not SETOF) is to-one too',
    query: (db) =>
      db.from('collections').select('name,parent_collection(name)').in('id', [1, 4]).order('id'),
    data: [
      { name: 'root', parent_collection: null },
      { name: 'drafts', parent_collection: { name: 'papers' } },
    ],
  },
  {
    name: 'a SETOF computed relationship embeds an array, with filters, order and !inner',
    query: (db) =>
      db
        .from('collections')
        .select('name,children!inner(name,depth)')
        .neq('children.name', 'notes')
        .order('name', { referencedTable: 'children' })
        .order('id'),
    data: [
      { name: 'root', children: [{ name: 'papers', depth: 1 }] },
      { name: 'papers', children: [{ name: 'drafts', depth: 2 }] },
    ],
  },
  {
    name: 'a to-one computed relationship spreads into the parent',
    query: (db) =>
      db
        .from('collections')
        .select('name,...owner(owner_name:username)')
        .in('id', [3, 5])
        .order('id'),
    data: [
      { name: 'notes', owner_name: 'alan' },
      { name: 'orphan', owner_name: null },
    ],
  },
  {
    name: 'computed relationships nest and spread',
    query: (db) =>
      db
        .from('users')
        .select('username,inbox(body,...messages_sender_fkey(from:username))')
        .eq('id', 1)
        .order('id', { referencedTable: 'inbox' }),
    data: [
      {
        username: 'ada',
        inbox: [
          { body: 'reply', from: 'alan' },
          { body: 'ping', from: 'grace' },
        ],
      },
    ],
  },
  {
    name: 'a computed field filters and orders an embed, and can be aggregated',
    query: (db) =>
      db
        .from('users')
        .select('username,collections(name,depth),deepest:collections(depth.max())')
        .eq('username', 'ada')
        .gt('collections.depth', 0)
        .order('depth', { referencedTable: 'collections', ascending: false }),
    data: [
      {
        username: 'ada',
        collections: [
          { name: 'drafts', depth: 2 },
          { name: 'papers', depth: 1 },
        ],
        deepest: [{ max: 2 }],
      },
    ],
  },
  {
    name: 'computed fields and relationships in a write with return=representation',
    query: (db) =>
      db
        .from('collections')
        .update({ name: 'drafts' })
        .eq('id', 4)
        .select('name,depth,parent_collection(name)'),
    data: [{ name: 'drafts', depth: 2, parent_collection: { name: 'papers' } }],
  },
  {
    name: 'an unknown name is still 400 42703',
    query: (db) => db.from('users').select('username,nope'),
    status: 400,
    error: { code: '42703', message: 'column users.nope does not exist' },
  },
]);

scenarios('execution plans (DB_PLAN_ENABLED=true)', [
  {
    name: 'the JSON plan of a read with an embed',
    query: (db) =>
      db
        .from('collections')
        .select('name,username(full_name)')
        .eq('id', 1)
        .explain({ format: 'json' }) as unknown as Builder,
    contentType: 'application/vnd.pgrst.plan+json; for="application/json"; charset=utf-8',
    range: null,
    check: (a) => {
      const [plan] = a.data as Array<{ Plan: Record<string, unknown> }>;
      expect(plan!.Plan['Node Type']).toBe('Aggregate');
      expect(plan!.Plan['Total Cost']).toBeGreaterThan(0);
    },
  },
  {
    name: 'the text plan by default',
    query: (db) => db.from('users').select('username').explain() as unknown as Builder,
    contentType: 'application/vnd.pgrst.plan+text; for="application/json"; charset=utf-8',
    range: null,
    check: (a) => expect(a.data).toMatch(/Aggregate.*\n.*Scan on users/s),
  },
  {
    name: 'analyze, verbose, settings and buffers options',
    query: (db) =>
      db.from('users').select('username').explain({
        analyze: true,
        verbose: true,
        settings: true,
        buffers: true,
        format: 'json',
      }) as unknown as Builder,
    contentType:
      'application/vnd.pgrst.plan+json; for="application/json"; options=analyze|verbose|settings|buffers; charset=utf-8',
    range: null,
    // Timings differ from run to run.
    sdk: false,
    check: (a) => {
      const [plan] = a.data as Array<{ Plan: Record<string, unknown> }>;
      expect(plan!.Plan['Actual Rows']).toBe(1);
      expect(plan!.Plan.Output).toEqual(expect.any(Array));
      expect(plan!.Plan['Shared Hit Blocks']).toEqual(expect.any(Number));
    },
  },
  {
    name: 'the plan of a single object (for= the object media type)',
    query: (db) =>
      db
        .from('users')
        .select('username')
        .eq('id', 1)
        .setHeader('Accept', 'application/vnd.pgrst.plan+json; for="application/vnd.pgrst.object"'),
    contentType:
      'application/vnd.pgrst.plan+json; for="application/vnd.pgrst.object+json"; charset=utf-8',
    range: null,
  },
  {
    name: 'an unknown option is 406 PGRST107',
    query: (db) =>
      db
        .from('users')
        .select('username')
        .setHeader('Accept', 'application/vnd.pgrst.plan+json; options=everything'),
    status: 406,
    error: { code: 'PGRST107' },
    sdk: false,
  },
]);

describe('execution plans of writes', () => {
  it('explain analyze (and wal) runs an insert, an update and a delete but keeps none of them', async () => {
    const client = postgrestJs();
    const insert = await client.db
      .from('tags')
      .insert({ label: 'planned' })
      .explain({ analyze: true, wal: true, format: 'json' });
    expect(insert.error).toBeNull();
    expect(insert.status).toBe(200);
    expect(client.headers().get('content-type')).toBe(
      'application/vnd.pgrst.plan+json; for="application/json"; options=analyze|wal; charset=utf-8',
    );
    const [plan] = insert.data as unknown as Array<{ Plan: Record<string, unknown> }>;
    expect(plan!.Plan['WAL Records']).toBeGreaterThan(0);
    const update = await client.db
      .from('tags')
      .update({ label: 'renamed' })
      .eq('id', 1)
      .explain({ analyze: true, format: 'json' });
    expect(update.status).toBe(200);
    const remove = await client.db
      .from('collection_tags')
      .delete()
      .eq('collection_id', 3)
      .explain({ analyze: true, format: 'text' });
    expect(remove.status).toBe(200);
    expect(remove.data).toMatch(/Delete on collection_tags/);
    const { data } = await client.db.from('tags').select('id,label').order('id');
    expect(data).toEqual([
      { id: 1, label: 'math' },
      { id: 2, label: 'computing' },
      { id: 3, label: 'history' },
    ]);
    const links = await client.db.from('collection_tags').select('tag_id').eq('collection_id', 3);
    expect(links.data).toEqual([{ tag_id: 3 }]);
  });

  it('explains an RPC call, through postgrest-js and @insforge/sdk', async () => {
    const client = postgrestJs();
    const call = (db: Db) =>
      db.rpc('big_orders', { min_amount: 10 }).select('id').explain({ format: 'json' });
    const viaJs = await call(client.db);
    expect(viaJs.status).toBe(200);
    expect(client.headers().get('content-type')).toBe(
      'application/vnd.pgrst.plan+json; for="application/json"; charset=utf-8',
    );
    expect(client.headers().get('content-range')).toBeNull();
    const [plan] = viaJs.data as unknown as Array<{ Plan: Record<string, unknown> }>;
    expect(plan!.Plan['Node Type']).toBe('Aggregate');
    const sdk = await viaSdk(call as (db: Db) => Builder);
    expect({ status: sdk.status, data: sdk.data }).toEqual({
      status: viaJs.status,
      data: viaJs.data,
    });
  });
});
