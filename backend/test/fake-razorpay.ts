import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Razorpay API, speaking the endpoints Kiln's `razorpay` client calls
 * (JSON bodies, Basic auth with the key pair, Razorpay's error shape and `collection` lists).
 * Tests point RAZORPAY_API_BASE at it and read what it was asked through `state`.
 */
type Obj = Record<string, any>;

export interface FakeRazorpay {
  url: string;
  state: {
    orders: Map<string, Obj>;
    customers: Map<string, Obj>;
    subscriptions: Map<string, Obj>;
    items: Map<string, Obj>;
    plans: Map<string, Obj>;
  };
  close(): Promise<void>;
}

/** A key ID the stand-in refuses as Razorpay refuses unknown keys (401). */
export const REJECTED_RAZORPAY_KEY = 'rzp_test_rejected';

const now = () => Math.floor(Date.now() / 1000);
const id = (prefix: string) => `${prefix}_${crypto.randomBytes(7).toString('hex')}`;

export async function startFakeRazorpay(): Promise<FakeRazorpay> {
  const state: FakeRazorpay['state'] = {
    orders: new Map(),
    customers: new Map(),
    subscriptions: new Map(),
    items: new Map(),
    plans: new Map(),
  };
  const collection = (items: Obj[], q: URLSearchParams) => {
    const skip = Number(q.get('skip') ?? 0);
    const count = Number(q.get('count') ?? 10);
    const page = items.slice(skip, skip + count);
    return { entity: 'collection', count: page.length, items: page };
  };
  const fail = (status: number, description: string): [number, Obj] => [
    status,
    { error: { code: 'BAD_REQUEST_ERROR', description, source: 'NA', reason: 'NA' } },
  ];

  function handle(method: string, path: string, body: Obj, q: URLSearchParams): [number, Obj] {
    let m: RegExpExecArray | null;
    if (path === '/v1/orders' && method === 'GET')
      return [200, collection([...state.orders.values()], q)];
    if (path === '/v1/orders' && method === 'POST') {
      if (!Number.isInteger(body.amount) || body.amount < 100)
        return fail(400, 'The amount must be atleast INR 1.00');
      const order = {
        id: id('order'),
        entity: 'order',
        amount: body.amount,
        amount_paid: 0,
        amount_due: body.amount,
        currency: body.currency,
        receipt: body.receipt ?? null,
        status: 'created',
        attempts: 0,
        notes: body.notes ?? {},
        created_at: now(),
      };
      state.orders.set(order.id, order);
      return [200, order];
    }
    if (path === '/v1/customers' && method === 'POST') {
      const customer = {
        id: id('cust'),
        entity: 'customer',
        name: body.name ?? null,
        email: body.email ?? null,
        contact: body.contact ?? null,
        notes: body.notes ?? {},
        created_at: now(),
      };
      state.customers.set(customer.id, customer);
      return [200, customer];
    }
    if (path === '/v1/items' && method === 'GET')
      return [200, collection([...state.items.values()], q)];
    if (path === '/v1/items' && method === 'POST') {
      const item = {
        id: id('item'),
        entity: 'item',
        active: true,
        name: body.name,
        description: body.description ?? null,
        amount: body.amount,
        unit_amount: body.amount,
        currency: body.currency,
        type: 'invoice',
        created_at: now(),
      };
      state.items.set(item.id, item);
      return [200, item];
    }
    if ((m = /^\/v1\/items\/([^/]+)$/.exec(path)) && method === 'PATCH') {
      const item = state.items.get(m[1]!);
      if (!item) return fail(404, 'The id provided does not exist');
      for (const key of ['name', 'description', 'amount', 'currency', 'active'])
        if (body[key] !== undefined) item[key] = body[key];
      item.unit_amount = item.amount;
      return [200, item];
    }
    if (path === '/v1/plans' && method === 'GET')
      return [200, collection([...state.plans.values()], q)];
    if (path === '/v1/plans' && method === 'POST') {
      const item = {
        id: id('item'),
        active: true,
        name: body.item?.name,
        description: body.item?.description ?? null,
        amount: body.item?.amount,
        unit_amount: body.item?.amount,
        currency: body.item?.currency,
        type: 'plan',
        created_at: now(),
      };
      const plan = {
        id: id('plan'),
        entity: 'plan',
        interval: body.interval,
        period: body.period,
        item,
        notes: body.notes ?? {},
        created_at: now(),
      };
      state.plans.set(plan.id, plan);
      return [200, plan];
    }
    if (path === '/v1/subscriptions' && method === 'GET')
      return [200, collection([...state.subscriptions.values()], q)];
    if (path === '/v1/subscriptions' && method === 'POST') {
      if (!state.plans.has(body.plan_id)) return fail(400, 'The id provided does not exist');
      const subscription = {
        id: id('sub'),
        entity: 'subscription',
        plan_id: body.plan_id,
        customer_id: body.customer_id ?? null,
        status: 'created',
        current_start: null,
        current_end: null,
        ended_at: null,
        quantity: body.quantity ?? 1,
        notes: body.notes ?? {},
        charge_at: null,
        start_at: body.start_at ?? null,
        end_at: body.end_at ?? null,
        auth_attempts: 0,
        total_count: body.total_count ?? null,
        paid_count: 0,
        customer_notify: body.customer_notify ?? 1,
        created_at: now(),
        expire_by: body.expire_by ?? null,
        short_url: `https://rzp.test/i/${crypto.randomBytes(4).toString('hex')}`,
        has_scheduled_changes: false,
        change_scheduled_at: null,
        offer_id: body.offer_id ?? null,
        remaining_count: body.total_count ?? null,
      };
      state.subscriptions.set(subscription.id, subscription);
      return [200, subscription];
    }
    if ((m = /^\/v1\/subscriptions\/([^/]+)(?:\/(cancel|pause|resume))?$/.exec(path))) {
      const subscription = state.subscriptions.get(m[1]!);
      if (!subscription) return fail(404, 'The id provided does not exist');
      if (method === 'GET' && !m[2]) return [200, subscription];
      if (method !== 'POST') return fail(400, 'The requested URL was not found on the server.');
      if (m[2] === 'cancel') {
        if (body.cancel_at_cycle_end === 1) subscription.has_scheduled_changes = true;
        else {
          subscription.status = 'cancelled';
          subscription.ended_at = now();
        }
      } else if (m[2] === 'pause') {
        if (subscription.status !== 'active')
          return fail(400, 'Subscription cannot be paused unless it is active');
        subscription.status = 'paused';
      } else if (m[2] === 'resume') {
        if (subscription.status !== 'paused') return fail(400, 'Subscription is not paused');
        subscription.status = 'active';
      }
      return [200, subscription];
    }
    return fail(400, 'The requested URL was not found on the server.');
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://razorpay.local');
      const answer = (status: number, body: Obj) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const [keyId] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
      if (!keyId || keyId === REJECTED_RAZORPAY_KEY) {
        const [status, body] = fail(401, 'Authentication failed');
        answer(status, body);
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const [status, body] = handle(
        req.method ?? 'GET',
        url.pathname,
        text ? (JSON.parse(text) as Obj) : {},
        url.searchParams,
      );
      answer(status, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
