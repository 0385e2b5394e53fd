import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@insforge/sdk';
import { buildReadPlan } from '../src/database/records/plan.js';
import { Aliases, SqlParams, compileRead, wrapAsJson } from '../src/database/records/sql.js';
import { deleteSql, updateSql } from '../src/database/records/write-sql.js';
import { fixture, startTestApp, type TestApp } from './helpers.js';

/**
 * Reads through the PostgREST protocol, as scenario tables: request → status, headers, body.
 * Behaviour follows PostgREST's public documentation; the fixture is test/fixtures/library.sql.
 * Every scenario is also sent through @insforge/sdk's HTTP transport and must answer the same.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}, {}, { setupSql: fixture('library.sql') });
});
afterAll(async () => {
  await t?.stop();
});

interface Scenario {
  name: string;
  path: string;
  headers?: Record<string, string>;
  method?: string;
  status?: number;
  body?: unknown;
  /** Extra checks on the response. */
  check?: (res: { status: number; headers: Headers; body: any }) => void;
}

async function run(s: Scenario) {
  const res = await t.request(s.method ?? 'GET', `/api/database/records/${s.path}`, {
    token: t.anonKey,
    headers: s.headers,
  });
  return res;
}

/** The same request through @insforge/sdk's transport (what its database module uses). */
async function runThroughSdk(s: Scenario) {
  const client = createClient({ baseUrl: t.baseUrl, anonKey: t.anonKey, retryCount: 0 });
  const res = await client.getHttpClient().rawFetch(`${t.baseUrl}/api/database/records/${s.path}`, {
    method: s.method ?? 'GET',
    headers: s.headers,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : text,
  };
}

function table(name: string, scenarios: Scenario[]) {
  describe(name, () => {
    for (const s of scenarios) {
      it(s.name, async () => {
        const res = await run(s);
        if (res.status !== (s.status ?? 200)) {
          throw new Error(
            `${s.path}: expected ${s.status ?? 200}, got ${res.status}: ${JSON.stringify(res.body)}`,
          );
        }
        if ('body' in s) expect(res.body).toEqual(s.body);
        s.check?.(res);
        const viaSdk = await runThroughSdk(s);
        expect({ status: viaSdk.status, body: viaSdk.body }).toEqual({
          status: res.status,
          body: res.body,
        });
      });
    }
  });
}

table('select', [
  {
    name: 'columns, in order',
    path: 'books?select=id,title&order=id&limit=2',
    body: [
      { id: 1, title: 'A Wizard of Earthsea' },
      { id: 2, title: 'The Left Hand of Darkness' },
    ],
    check: (r) => {
      expect(r.headers.get('content-range')).toBe('0-1/*');
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    },
  },
  {
    name: 'star returns every column',
    path: 'authors?id=eq.4',
    body: [{ id: 4, name: 'Nobody Yet', country: null, born: null }],
  },
  {
    name: 'renames and casts',
    path: 'books?select=name:title,pages::text&id=eq.1',
    body: [{ name: 'A Wizard of Earthsea', pages: '183' }],
  },
  {
    name: 'casts to multi-word and array types',
    path: 'books?select=pages::double%20precision,tags::text[],title::character%20varying&id=eq.1',
    body: [{ pages: 183, tags: expect.any(Array), title: 'A Wizard of Earthsea' }],
  },
  {
    name: 'JSON paths with -> and ->>, array index, alias',
    path: 'books?select=id,meta->>series,first_award:meta->awards->0&id=eq.1',
    body: [{ id: 1, series: 'Earthsea', first_award: 'Lewis Carroll Shelf' }],
  },
  {
    name: 'a JSON index too large for an array index reads as a key',
    path: 'books?select=id,big:meta->awards->99999999999999999999&id=eq.1',
    body: [{ id: 1, big: null }],
  },
  {
    name: 'quoted names',
    path: 'books?select="title",%22pages%22&id=eq.3',
    body: [{ title: 'Solaris', pages: 204 }],
  },
  {
    name: 'arrays, enums, ranges and numerics come back as JSON',
    path: 'books?select=tags,mood,years,rating&id=eq.2',
    body: [{ tags: ['scifi', 'classic'], mood: 'sad', years: '[1969,1970)', rating: 4.7 }],
  },
  {
    name: 'a view',
    path: 'published_books?select=title&order=id',
    check: (r) => expect(r.body).toHaveLength(4),
  },
  {
    name: 'empty result is [] with */*',
    path: 'books?id=eq.999',
    body: [],
    check: (r) => expect(r.headers.get('content-range')).toBe('*/*'),
  },
]);

table('filters', [
  { name: 'eq', path: 'books?select=title&id=eq.3', body: [{ title: 'Solaris' }] },
  {
    name: 'neq',
    path: 'books?select=id&author_id=neq.1&order=id',
    body: [{ id: 3 }, { id: 4 }, { id: 5 }],
  },
  {
    name: 'gt / lte',
    path: 'books?select=id&pages=gt.200&pages=lte.295&order=id',
    body: [{ id: 3 }, { id: 4 }, { id: 5 }],
  },
  {
    name: 'gte / lt',
    path: 'books?select=id&rating=gte.4.5&rating=lt.4.7&order=id',
    body: [{ id: 1 }, { id: 5 }],
  },
  {
    name: 'like with * wildcards',
    path: 'books?select=title&title=like.*Earth*',
    body: [{ title: 'A Wizard of Earthsea' }],
  },
  { name: 'ilike', path: 'books?select=id&title=ilike.*SOLARIS*', body: [{ id: 3 }] },
  {
    name: 'match',
    path: 'books?select=id&title=match.^The&order=id',
    body: [{ id: 2 }, { id: 4 }],
  },
  { name: 'imatch', path: 'books?select=id&title=imatch.^the c', body: [{ id: 4 }] },
  {
    name: 'in with quoted values',
    path: 'books?select=id&title=in.("Solaris","Kindred","a,b")&order=id',
    body: [{ id: 3 }, { id: 5 }],
  },
  { name: 'empty in matches nothing', path: 'books?select=id&id=in.()', body: [] },
  { name: 'not.in', path: 'books?select=id&id=not.in.(1,2,3,4,5)', body: [{ id: 6 }] },
  { name: 'is.null', path: 'books?select=id&author_id=is.null', body: [{ id: 6 }] },
  {
    name: 'not.is.null',
    path: 'authors?select=id&country=not.is.null&order=id',
    body: [{ id: 1 }, { id: 2 }, { id: 3 }],
  },
  {
    name: 'is.true / is.false',
    path: 'books?select=id&published=is.false&order=id',
    body: [{ id: 4 }, { id: 6 }],
  },
  { name: 'is.unknown on a boolean', path: 'books?select=id&published=is.unknown', body: [] },
  {
    name: 'isdistinct treats null as a value',
    path: 'books?select=id&mood=isdistinct.sad&order=id',
    body: [{ id: 1 }, { id: 4 }, { id: 5 }, { id: 6 }],
  },
  {
    name: 'fts on a tsvector column',
    path: 'books?select=id&search=fts.wizard',
    body: [{ id: 1 }],
  },
  {
    name: 'fts with config on a text column',
    path: 'books?select=id&title=fts(english).darkness',
    body: [{ id: 2 }],
  },
  { name: 'plfts', path: 'books?select=id&title=plfts.left%20hand', body: [{ id: 2 }] },
  {
    name: 'phfts',
    path: 'books?select=id&title=phfts(english).wizard%20of%20earthsea',
    body: [{ id: 1 }],
  },
  {
    name: 'wfts',
    path: 'books?select=id&title=wfts.solaris%20or%20kindred&order=id',
    body: [{ id: 3 }, { id: 5 }],
  },
  { name: 'cs on arrays', path: 'books?select=id&tags=cs.{scifi,classic}', body: [{ id: 2 }] },
  {
    name: 'cd on arrays',
    path: 'books?select=id&tags=cd.{scifi,humor}&order=id',
    body: [{ id: 3 }, { id: 4 }, { id: 6 }],
  },
  {
    name: 'ov on arrays',
    path: 'books?select=id&tags=ov.{humor,fantasy}&order=id',
    body: [{ id: 1 }, { id: 4 }],
  },
  { name: 'cs on jsonb', path: 'books?select=id&meta=cs.{"language":"pl"}', body: [{ id: 3 }] },
  {
    name: 'sl on ranges',
    path: 'books?select=id&years=sl.[1966,1967)&order=id',
    body: [{ id: 3 }, { id: 4 }],
  },
  { name: 'sr on ranges', path: 'books?select=id&years=sr.[1969,1970)', body: [{ id: 5 }] },
  {
    // nxl: does not extend to the left of (&>); nxr: does not extend to the right of (&<).
    name: 'nxl / nxr',
    path: 'books?select=id&years=nxl.[1962,1963)&years=nxr.[1960,1967)',
    body: [{ id: 4 }],
  },
  { name: 'adj', path: 'books?select=id&years=adj.[1969,1975)', body: [{ id: 1 }] },
  {
    name: 'eq(any)',
    path: 'books?select=id&id=eq(any).{2,5}&order=id',
    body: [{ id: 2 }, { id: 5 }],
  },
  {
    name: 'like(any)',
    path: 'books?select=id&title=like(any).{*Earth*,*Cyber*}&order=id',
    body: [{ id: 1 }, { id: 4 }],
  },
  { name: 'like(all)', path: 'books?select=id&title=like(all).{*The*,*Dark*}', body: [{ id: 2 }] },
  { name: 'not.eq', path: 'authors?select=id&country=not.eq.US&order=id', body: [{ id: 2 }] },
  {
    name: 'JSON path filter',
    path: 'books?select=id&meta->>series=eq.Earthsea',
    body: [{ id: 1 }],
  },
  {
    name: 'JSON path filter on a number',
    path: 'books?select=id&meta->order=eq.1',
    body: [{ id: 1 }],
  },
  { name: 'enum eq', path: 'books?select=id&mood=eq.happy', body: [{ id: 4 }] },
  {
    name: 'date comparison',
    path: 'authors?select=name&born=lt.1925-01-01',
    body: [{ name: 'Stanislaw Lem' }],
  },
  {
    name: 'a filter value containing dots and commas',
    path: 'authors?select=id&name=eq.Ursula K. Le Guin',
    body: [{ id: 1 }],
  },
]);

table('logic trees', [
  {
    name: 'or',
    path: 'books?select=id&or=(pages.gt.300,title.eq.Solaris)&order=id',
    body: [{ id: 2 }, { id: 3 }],
  },
  {
    name: 'nested and inside or',
    path: 'books?select=id&or=(and(published.is.true,pages.lt.200),title.eq.Kindred)&order=id',
    body: [{ id: 1 }, { id: 5 }],
  },
  {
    name: 'not.or',
    path: 'books?select=id&not.or=(author_id.eq.1,author_id.is.null)&order=id',
    body: [{ id: 3 }, { id: 4 }, { id: 5 }],
  },
  {
    name: 'and with a negated member',
    path: 'books?select=id&and=(published.is.true,author_id.not.eq.1)&order=id',
    body: [{ id: 3 }, { id: 5 }],
  },
  {
    name: 'or with in and quoted values',
    path: 'books?select=id&or=(id.in.(1,2),title.eq."Kindred")&order=id',
    body: [{ id: 1 }, { id: 2 }, { id: 5 }],
  },
  {
    name: 'or on JSON paths',
    path: 'books?select=id&or=(meta->>series.eq.Earthsea,meta->>language.eq.pl)&order=id',
    body: [{ id: 1 }, { id: 3 }],
  },
  {
    name: 'not.and nested',
    path: 'books?select=id&or=(not.and(published.is.true,pages.gt.100),id.eq.1)&order=id',
    body: [{ id: 1 }, { id: 4 }, { id: 6 }],
  },
]);

table('order, limit, offset, Range, count', [
  {
    name: 'desc nullslast',
    path: 'books?select=id&order=pages.desc.nullslast',
    body: [2, 4, 5, 3, 1, 6].map((id) => ({ id })),
  },
  {
    name: 'asc nullsfirst',
    path: 'books?select=id&order=pages.asc.nullsfirst&limit=2',
    body: [{ id: 6 }, { id: 1 }],
  },
  {
    name: 'several columns',
    path: 'books?select=id&order=author_id.desc.nullslast,pages.asc&limit=3',
    body: [{ id: 5 }, { id: 3 }, { id: 4 }],
  },
  {
    name: 'JSON path order',
    path: 'books?select=id&order=meta->>language.asc.nullslast,id&limit=1',
    body: [{ id: 3 }],
  },
  {
    name: 'limit + offset with Content-Range',
    path: 'books?select=id&order=id&limit=2&offset=2',
    body: [{ id: 3 }, { id: 4 }],
    check: (r) => expect(r.headers.get('content-range')).toBe('2-3/*'),
  },
  {
    name: 'Range header',
    path: 'books?select=id&order=id',
    headers: { range: '1-2', 'range-unit': 'items' },
    body: [{ id: 2 }, { id: 3 }],
    check: (r) => expect(r.headers.get('content-range')).toBe('1-2/*'),
  },
  {
    name: 'count=exact gives the total and 206 for a partial page',
    path: 'books?select=id&order=id&limit=2',
    headers: { prefer: 'count=exact' },
    status: 206,
    body: [{ id: 1 }, { id: 2 }],
    check: (r) => {
      expect(r.headers.get('content-range')).toBe('0-1/6');
      expect(r.headers.get('preference-applied')).toBe('count=exact');
    },
  },
  {
    name: 'count=exact over the whole set is 200',
    path: 'authors?select=id',
    headers: { prefer: 'count=exact' },
    check: (r) => expect(r.headers.get('content-range')).toBe('0-3/4'),
  },
  {
    name: 'count with filters counts the filtered rows',
    path: 'books?select=id&published=is.true&limit=1',
    headers: { prefer: 'count=exact' },
    status: 206,
    check: (r) => expect(r.headers.get('content-range')).toBe('0-0/4'),
  },
  {
    name: 'count=planned gives the planner estimate',
    path: 'books?select=id&limit=1',
    headers: { prefer: 'count=planned' },
    status: 206,
    check: (r) => {
      expect(r.headers.get('content-range')).toMatch(/^0-0\/\d+$/);
      expect(r.headers.get('preference-applied')).toBe('count=planned');
    },
  },
  {
    name: 'count=estimated is exact for small results',
    path: 'books?select=id&published=is.true&limit=1',
    headers: { prefer: 'count=estimated' },
    status: 206,
    check: (r) => expect(r.headers.get('content-range')).toBe('0-0/4'),
  },
  {
    name: 'offset past the end with a count is 416',
    path: 'books?select=id&offset=50',
    headers: { prefer: 'count=exact' },
    status: 416,
    check: (r) => expect(r.body.code).toBe('PGRST103'),
  },
  {
    name: 'HEAD answers headers only',
    method: 'HEAD',
    path: 'books?select=id',
    headers: { prefer: 'count=exact' },
    check: (r) => {
      expect(r.headers.get('content-range')).toBe('0-5/6');
      expect(r.body).toBe('');
    },
  },
]);

table('embedding', [
  {
    name: 'many-to-one by constraint hint',
    path: 'books?select=title,author:authors!books_author_id_fkey(name)&id=eq.1',
    body: [{ title: 'A Wizard of Earthsea', author: { name: 'Ursula K. Le Guin' } }],
  },
  {
    name: 'many-to-one by FK column',
    path: 'books?select=title,author:author_id(name),editor:editor_id(name)&id=eq.1',
    body: [
      {
        title: 'A Wizard of Earthsea',
        author: { name: 'Ursula K. Le Guin' },
        editor: { name: 'Octavia Butler' },
      },
    ],
  },
  {
    name: 'to-one with no row is null',
    path: 'books?select=id,editor:editor_id(name)&id=eq.2',
    body: [{ id: 2, editor: null }],
  },
  {
    name: 'ambiguous relationship is 300 PGRST201',
    path: 'books?select=title,authors(name)',
    status: 300,
    check: (r) => {
      expect(r.body.code).toBe('PGRST201');
      expect(r.body.details).toHaveLength(2);
      expect(r.body.hint).toContain('authors!books_author_id_fkey');
    },
  },
  {
    name: 'one-to-many',
    path: 'authors?select=name,books!books_author_id_fkey(title)&id=eq.2',
    body: [{ name: 'Stanislaw Lem', books: [{ title: 'Solaris' }, { title: 'The Cyberiad' }] }],
  },
  {
    name: 'one-to-many with no rows is []',
    path: 'authors?select=id,books!books_author_id_fkey(id)&id=eq.4',
    body: [{ id: 4, books: [] }],
  },
  {
    name: 'one-to-one is an object',
    path: 'authors?select=name,profiles(bio)&id=eq.1',
    body: [{ name: 'Ursula K. Le Guin', profiles: { bio: 'Earthsea' } }],
  },
  {
    name: 'many-to-many through a junction',
    path: 'books?select=title,categories(name)&id=eq.4',
    check: (r) =>
      expect(r.body[0].categories.map((c: { name: string }) => c.name).sort()).toEqual([
        'humor',
        'science fiction',
      ]),
  },
  {
    name: 'nested embeds',
    path: 'categories?select=name,books(title,author:author_id(name))&id=eq.1',
    body: [
      {
        name: 'fantasy',
        books: [{ title: 'A Wizard of Earthsea', author: { name: 'Ursula K. Le Guin' } }],
      },
    ],
  },
  {
    name: 'self-reference to-one',
    path: 'employees?select=name,manager:manager_id(name,manager:manager_id(name))&id=eq.4',
    body: [{ name: 'Ken', manager: { name: 'Grace', manager: { name: 'Ada' } } }],
  },
  {
    name: '!inner drops parents without a match',
    path: 'authors?select=name,books!books_author_id_fkey!inner(title)&books.title=eq.Solaris',
    body: [{ name: 'Stanislaw Lem', books: [{ title: 'Solaris' }] }],
  },
  {
    name: 'filters on an embed without !inner keep every parent',
    path: 'authors?select=id,books!books_author_id_fkey(id)&books.pages=gt.290&order=id',
    body: [
      { id: 1, books: [{ id: 2 }] },
      { id: 2, books: [{ id: 4 }] },
      { id: 3, books: [] },
      { id: 4, books: [] },
    ],
  },
  {
    name: 'rel=not.is.null',
    path: 'authors?select=id,profiles(bio)&profiles=not.is.null&order=id',
    check: (r) => expect(r.body.map((a: { id: number }) => a.id)).toEqual([1, 2]),
  },
  {
    name: 'rel=is.null',
    path: 'authors?select=id,profiles(bio)&profiles=is.null&order=id',
    check: (r) => expect(r.body.map((a: { id: number }) => a.id)).toEqual([3, 4]),
  },
  {
    name: 'order and limit on an embed',
    path: 'authors?select=name,books!books_author_id_fkey(title)&books.order=title.desc&books.limit=1&id=eq.1',
    body: [{ name: 'Ursula K. Le Guin', books: [{ title: 'The Left Hand of Darkness' }] }],
  },
  {
    name: 'or on an embed',
    path: 'authors?select=id,books!books_author_id_fkey(id)&books.or=(pages.lt.200,pages.gt.300)&id=eq.1',
    body: [{ id: 1, books: [{ id: 1 }, { id: 2 }] }],
  },
  {
    name: 'spread a to-one embed into the parent',
    path: 'books?select=title,...authors!books_author_id_fkey(author_name:name,country)&id=eq.3',
    body: [{ title: 'Solaris', author_name: 'Stanislaw Lem', country: 'PL' }],
  },
  {
    name: 'spread of a to-many gives an array per column (PostgREST 13)',
    path: 'authors?select=name,...books!books_author_id_fkey(title)&id=eq.2&books.order=id',
    body: [{ name: 'Stanislaw Lem', title: ['Solaris', 'The Cyberiad'] }],
  },
  {
    name: 'legacy rel(count)',
    path: 'authors?select=name,books!books_author_id_fkey(count)&id=eq.1',
    body: [{ name: 'Ursula K. Le Guin', books: [{ count: 2 }] }],
  },
  {
    name: 'a view embeds through its base table foreign keys (to-one)',
    path: 'published_books?select=title,author:author_id(name)&id=eq.3',
    body: [{ title: 'Solaris', author: { name: 'Stanislaw Lem' } }],
  },
  {
    name: 'a table embeds a view (to-many)',
    path: 'authors?select=name,published_books(title)&id=eq.2',
    body: [{ name: 'Stanislaw Lem', published_books: [{ title: 'Solaris' }] }],
  },
  {
    name: 'embed with star',
    path: 'books?select=id,author_id(*)&id=eq.5',
    body: [
      { id: 5, author_id: { id: 3, name: 'Octavia Butler', country: 'US', born: '1947-06-22' } },
    ],
  },
]);

table('media types and profiles', [
  {
    name: 'single object',
    path: 'books?select=id,title&id=eq.3',
    headers: { accept: 'application/vnd.pgrst.object+json' },
    body: { id: 3, title: 'Solaris' },
    check: (r) =>
      expect(r.headers.get('content-type')).toMatch(/application\/vnd\.pgrst\.object\+json/),
  },
  {
    name: 'single object with several rows is 406 PGRST116',
    path: 'books?select=id&id=gt.1',
    headers: { accept: 'application/vnd.pgrst.object+json' },
    status: 406,
    body: {
      code: 'PGRST116',
      message: 'JSON object requested, multiple (or no) rows returned',
      details: 'The result contains 5 rows',
      hint: null,
    },
  },
  {
    name: 'CSV',
    path: 'books?select=id,title,tags&id=lt.3&order=id',
    headers: { accept: 'text/csv' },
    // PostgREST's CSV: PostgreSQL's record quoting (spaces too) and text forms (arrays as {…}).
    body: 'id,title,tags\n1,"A Wizard of Earthsea","{fantasy,classic}"\n2,"The Left Hand of Darkness","{scifi,classic}"',
  },
  {
    name: 'unknown Accept is 406',
    path: 'books',
    headers: { accept: 'application/xml' },
    status: 406,
    check: (r) => expect(r.body.code).toBe('PGRST107'),
  },
  {
    name: 'Accept-Profile outside the exposed schemas is 406',
    path: 'shelves?select=label&order=id',
    headers: { 'accept-profile': 'library' },
    status: 406,
    check: (r) => expect(r.body.code).toBe('PGRST106'),
  },
]);

describe('schema profiles', () => {
  it('serves a second schema when it is exposed, 406 PGRST106 when it is not', async () => {
    const exposed = await startTestApp(
      { exposedSchemas: ['public', 'library'] },
      {},
      { setupSql: fixture('library.sql') },
    );
    try {
      const ok = await exposed.request(
        'GET',
        '/api/database/records/shelves?select=label&order=id',
        {
          token: exposed.anonKey,
          headers: { 'accept-profile': 'library' },
        },
      );
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual([{ label: 'A1' }, { label: 'B2' }]);
      const bad = await exposed.request('GET', '/api/database/records/shelves', {
        token: exposed.anonKey,
        headers: { 'accept-profile': 'secret' },
      });
      expect(bad.status).toBe(406);
      expect(bad.body).toEqual({
        code: 'PGRST106',
        message: 'The schema must be one of the following: public, library',
        details: null,
        hint: null,
      });
    } finally {
      await exposed.stop();
    }
  });
});

table('errors in PostgREST shape', [
  {
    name: 'unknown table',
    path: 'nope',
    status: 404,
    body: {
      code: 'PGRST205',
      message: "Could not find the table 'public.nope' in the schema cache",
      details: null,
      hint: null,
    },
  },
  {
    name: 'unknown column in select',
    path: 'books?select=nope',
    status: 400,
    check: (r) =>
      expect(r.body).toMatchObject({ code: '42703', message: 'column books.nope does not exist' }),
  },
  {
    name: 'unknown column in a filter',
    path: 'books?nope=eq.1',
    status: 400,
    check: (r) => expect(r.body.code).toBe('42703'),
  },
  {
    name: 'unknown operator',
    path: 'books?id=foo.1',
    status: 400,
    check: (r) => expect(r.body.code).toBe('PGRST100'),
  },
  {
    name: 'no relationship',
    path: 'books?select=*,employees(*)',
    status: 400,
    check: (r) => expect(r.body.code).toBe('PGRST200'),
  },
  {
    name: 'filter on an embed not selected',
    path: 'books?authors.name=eq.x',
    status: 400,
    check: (r) => expect(r.body.code).toBe('PGRST108'),
  },
  {
    name: 'bad value for the column type',
    path: 'books?id=eq.abc',
    status: 400,
    check: (r) => expect(r.body).toMatchObject({ code: '22P02', hint: null }),
  },
  {
    name: 'aggregates are disabled',
    path: 'books?select=pages.sum()',
    status: 400,
    check: (r) => expect(r.body.code).toBe('PGRST123'),
  },
]);

describe('credentials', () => {
  it('answers 401 PGRST301 for an invalid JWT (what makes the SDK refresh) and PGRST302 with none', async () => {
    const bad = await t.request('GET', '/api/database/records/books', { token: 'not.a.jwt' });
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('PGRST301');
    const none = await t.request('GET', '/api/database/records/books');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('PGRST302');
  });
  it('lets the API key read as project_admin', async () => {
    const res = await t.request('GET', '/api/database/records/books?select=id&limit=1', {
      token: t.apiKey,
    });
    expect(res.status).toBe(200);
  });
});

describe('DB_MAX_ROWS', () => {
  it('caps what one read returns, whatever the limit asked for', async () => {
    const capped = await startTestApp({ dbMaxRows: 2 }, {}, { setupSql: fixture('library.sql') });
    try {
      const all = await capped.request('GET', '/api/database/records/books?select=id&order=id', {
        token: capped.anonKey,
        headers: { prefer: 'count=exact' },
      });
      expect(all.body).toEqual([{ id: 1 }, { id: 2 }]);
      expect(all.headers.get('content-range')).toMatch(/^0-1\/\d+$/);
      const asked = await capped.request(
        'GET',
        '/api/database/records/books?select=id&order=id&limit=10&offset=1',
        { token: capped.anonKey },
      );
      expect(asked.body).toEqual([{ id: 2 }, { id: 3 }]);
      const fewer = await capped.request('GET', '/api/database/records/books?select=id&limit=1', {
        token: capped.anonKey,
      });
      expect(fewer.body).toHaveLength(1);
    } finally {
      await capped.stop();
    }
  });
});

describe('generated SQL', () => {
  /** The value each `LIMIT $n` / `OFFSET $n` in `sql` is bound to, in order. */
  const bounds = (sql: string, values: unknown[]) => {
    expect(sql).not.toMatch(/\b(LIMIT|OFFSET)\s+\d/);
    return [...sql.matchAll(/\b(LIMIT|OFFSET) \$(\d+)/g)].map((m) => [m[1], values[+m[2]! - 1]]);
  };

  it('limit and offset (top level and on an embed) are bound parameters, never SQL text', async () => {
    const cache = t.app.schemaCache;
    const path =
      'authors?select=id,books!books_author_id_fkey(title)&order=id&limit=2&offset=1&books.order=title&books.limit=1&books.offset=1';
    const query = Object.fromEntries(new URL(path, 'http://x').searchParams);
    const node = buildReadPlan(cache, { table: cache.getTable('public', 'authors')!, query });
    const params = new SqlParams();
    const { rows } = compileRead(node, params, new Aliases());
    expect(bounds(rows, params.values)).toEqual([
      ['LIMIT', 1],
      ['OFFSET', 1],
      ['LIMIT', 2],
      ['OFFSET', 1],
    ]);
    // PostgreSQL takes them as bounds: the statement answers what the HTTP read answers.
    const direct = await t.app.db.query<{ body: string }>(wrapAsJson(rows), params.values);
    const viaHttp = await t.request('GET', `/api/database/records/${path}`, { token: t.anonKey });
    expect(viaHttp.body).toHaveLength(2);
    expect(JSON.parse(direct.rows[0]!.body)).toEqual(viaHttp.body);
  });

  it('a limited UPDATE or DELETE scope binds its limit and offset too', () => {
    const cache = t.app.schemaCache;
    const table = cache.getTable('public', 'books')!;
    const node = buildReadPlan(cache, {
      table,
      query: { order: 'id', limit: '3', offset: '4', pages: 'gt.100' },
    });
    const updateParams = new SqlParams();
    const update = updateSql(table, node, { pages: 1 }, updateParams, '');
    expect(bounds(update, updateParams.values)).toEqual([
      ['LIMIT', 3],
      ['OFFSET', 4],
    ]);
    const deleteParams = new SqlParams();
    const remove = deleteSql(table, node, deleteParams, '');
    expect(bounds(remove, deleteParams.values)).toEqual([
      ['LIMIT', 3],
      ['OFFSET', 4],
    ]);
  });
});
