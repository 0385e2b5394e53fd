import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Stripe API, speaking the endpoints Kiln's `stripe` client calls
 * (form-encoded requests, JSON answers, Stripe's error shape and list envelope). Tests point
 * STRIPE_API_BASE at it and read what it was asked through `state`.
 */
type Obj = Record<string, any>;

export interface FakeStripe {
  url: string;
  state: {
    products: Map<string, Obj>;
    prices: Map<string, Obj>;
    customers: Map<string, Obj>;
    subscriptions: Map<string, Obj>;
    checkoutSessions: Obj[];
    portalSessions: Obj[];
    webhookEndpoints: Map<string, Obj>;
    /** Idempotency keys seen, with the answer given for each. */
    idempotent: Map<string, Obj>;
  };
  /** The signing secret of the newest webhook endpoint registered for `url`. */
  webhookSecret(url: string): string;
  close(): Promise<void>;
}

/** Keys the stand-in refuses as Stripe refuses an unknown key (401). */
export const REJECTED_STRIPE_KEY = 'sk_test_rejected';

/** `a[b][0][c]=v` pairs (qs "indices" format, as stripe-node writes them) into objects. */
function parseForm(body: string): Obj {
  const out: Obj = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = rawKey.replace(/\]/g, '').split('[');
    let node = out;
    path.forEach((segment, i) => {
      if (i === path.length - 1) node[segment] = value;
      else node = node[segment] ??= {};
    });
  }
  const arrays = (v: unknown): unknown => {
    if (!v || typeof v !== 'object') return v;
    const o = v as Obj;
    const keys = Object.keys(o);
    if (keys.length && keys.every((k) => /^\d+$/.test(k)))
      return keys.sort((a, b) => Number(a) - Number(b)).map((k) => arrays(o[k]));
    return Object.fromEntries(keys.map((k) => [k, arrays(o[k])]));
  };
  return arrays(out) as Obj;
}

const bool = (v: unknown, fallback: boolean) =>
  v === undefined ? fallback : v === true || v === 'true';
const now = () => Math.floor(Date.now() / 1000);
const id = (prefix: string) => `${prefix}_${crypto.randomBytes(8).toString('hex')}`;

export async function startFakeStripe(): Promise<FakeStripe> {
  const state: FakeStripe['state'] = {
    products: new Map(),
    prices: new Map(),
    customers: new Map(),
    subscriptions: new Map(),
    checkoutSessions: [],
    portalSessions: [],
    webhookEndpoints: new Map(),
    idempotent: new Map(),
  };

  const list = (url: string, data: Obj[]) => ({ object: 'list', url, has_more: false, data });
  const missing = (what: string, key: string): [number, Obj] => [
    404,
    {
      error: {
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: `No such ${what}: '${key}'`,
        param: 'id',
      },
    },
  ];

  function handle(method: string, path: string, form: Obj, query: URLSearchParams): [number, Obj] {
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/v1/account')
      return [200, { id: 'acct_fake', object: 'account', email: 'owner@shop.test' }];

    if (method === 'POST' && path === '/v1/webhook_endpoints') {
      const endpoint = {
        id: id('we'),
        object: 'webhook_endpoint',
        url: form.url,
        enabled_events: form.enabled_events,
        secret: `whsec_${crypto.randomBytes(24).toString('base64url')}`,
        status: 'enabled',
        created: now(),
      };
      state.webhookEndpoints.set(endpoint.id, endpoint);
      return [200, endpoint];
    }
    if (method === 'DELETE' && (m = /^\/v1\/webhook_endpoints\/([^/]+)$/.exec(path))) {
      if (!state.webhookEndpoints.delete(m[1]!)) return missing('webhook_endpoint', m[1]!);
      return [200, { id: m[1], object: 'webhook_endpoint', deleted: true }];
    }

    // Products
    if (path === '/v1/products' && method === 'GET')
      return [200, list(path, [...state.products.values()])];
    if (path === '/v1/products' && method === 'POST') {
      const product = {
        id: id('prod'),
        object: 'product',
        name: form.name,
        description: form.description ?? null,
        active: bool(form.active, true),
        default_price: null,
        metadata: form.metadata ?? {},
        created: now(),
      };
      state.products.set(product.id, product);
      return [200, product];
    }
    if ((m = /^\/v1\/products\/([^/]+)$/.exec(path))) {
      const product = state.products.get(m[1]!);
      if (!product) return missing('product', m[1]!);
      if (method === 'GET') return [200, product];
      if (method === 'DELETE') {
        if ([...state.prices.values()].some((p) => p.product === product.id))
          return [
            400,
            {
              error: {
                type: 'invalid_request_error',
                message: 'This product cannot be deleted because it has one or more prices.',
              },
            },
          ];
        state.products.delete(product.id);
        return [200, { id: product.id, object: 'product', deleted: true }];
      }
      if (form.name !== undefined) product.name = form.name;
      if (form.description !== undefined) product.description = form.description || null;
      if (form.active !== undefined) product.active = bool(form.active, true);
      if (form.metadata !== undefined) product.metadata = { ...product.metadata, ...form.metadata };
      return [200, product];
    }

    // Prices
    if (path === '/v1/prices' && method === 'GET') {
      const product = query.get('product');
      return [
        200,
        list(
          path,
          [...state.prices.values()].filter((p) => !product || p.product === product),
        ),
      ];
    }
    if (path === '/v1/prices' && method === 'POST') {
      if (!state.products.has(form.product)) return missing('product', form.product);
      const price = {
        id: id('price'),
        object: 'price',
        product: form.product,
        active: bool(form.active, true),
        currency: form.currency,
        unit_amount: Number(form.unit_amount),
        unit_amount_decimal: String(form.unit_amount),
        type: form.recurring ? 'recurring' : 'one_time',
        lookup_key: form.lookup_key ?? null,
        billing_scheme: 'per_unit',
        tax_behavior: form.tax_behavior ?? 'unspecified',
        recurring: form.recurring
          ? {
              interval: form.recurring.interval,
              interval_count: Number(form.recurring.interval_count ?? 1),
            }
          : null,
        metadata: form.metadata ?? {},
        created: now(),
      };
      state.prices.set(price.id, price);
      return [200, price];
    }
    if ((m = /^\/v1\/prices\/([^/]+)$/.exec(path))) {
      const price = state.prices.get(m[1]!);
      if (!price) return missing('price', m[1]!);
      if (method === 'GET') return [200, price];
      if (form.active !== undefined) price.active = bool(form.active, true);
      if (form.lookup_key !== undefined) price.lookup_key = form.lookup_key || null;
      if (form.tax_behavior !== undefined) price.tax_behavior = form.tax_behavior;
      if (form.metadata !== undefined) price.metadata = { ...price.metadata, ...form.metadata };
      return [200, price];
    }

    // Customers, checkout, portal, subscriptions
    if (path === '/v1/customers' && method === 'POST') {
      const customer = {
        id: id('cus'),
        object: 'customer',
        email: form.email ?? null,
        name: form.name ?? null,
        metadata: form.metadata ?? {},
        created: now(),
      };
      state.customers.set(customer.id, customer);
      return [200, customer];
    }
    if (path === '/v1/checkout/sessions' && method === 'POST') {
      if (form.customer && !state.customers.has(form.customer))
        return missing('customer', form.customer);
      for (const item of form.line_items ?? []) {
        if (!state.prices.has(item.price)) return missing('price', item.price);
      }
      const sessionId = id('cs_test');
      const session = {
        id: sessionId,
        object: 'checkout.session',
        mode: form.mode,
        status: 'open',
        payment_status: 'unpaid',
        customer: form.customer ?? null,
        customer_email: form.customer_email ?? null,
        client_reference_id: form.client_reference_id ?? null,
        success_url: form.success_url,
        cancel_url: form.cancel_url,
        line_items: form.line_items,
        metadata: form.metadata ?? {},
        subscription_data: form.subscription_data ?? null,
        url: `https://checkout.stripe.test/c/pay/${sessionId}`,
        created: now(),
      };
      state.checkoutSessions.push(session);
      return [200, session];
    }
    if (path === '/v1/billing_portal/sessions' && method === 'POST') {
      if (!state.customers.has(form.customer)) return missing('customer', form.customer);
      const session = {
        id: id('bps'),
        object: 'billing_portal.session',
        customer: form.customer,
        return_url: form.return_url ?? null,
        url: `https://billing.stripe.test/p/session/${id('s')}`,
        created: now(),
      };
      state.portalSessions.push(session);
      return [200, session];
    }
    if (path === '/v1/subscriptions' && method === 'GET')
      return [200, list(path, [...state.subscriptions.values()])];

    return [
      404,
      { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${path})` } },
    ];
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stripe.local');
      const answer = (status: number, body: Obj) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req') });
        res.end(JSON.stringify(body));
      };
      // For browser tests, whose workers cannot read `state`: the registered endpoints with
      // their signing secrets (a stand-in's own path; Stripe has no such thing).
      if (req.method === 'GET' && url.pathname === '/__fake/webhook_endpoints') {
        answer(200, { data: [...state.webhookEndpoints.values()] });
        return;
      }
      const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!key || key === REJECTED_STRIPE_KEY) {
        answer(401, {
          error: { type: 'invalid_request_error', message: 'Invalid API Key provided' },
        });
        return;
      }
      const idem = req.headers['idempotency-key'];
      const idemKey = typeof idem === 'string' ? `${req.method} ${url.pathname} ${idem}` : null;
      if (idemKey && state.idempotent.has(idemKey)) {
        answer(200, state.idempotent.get(idemKey)!);
        return;
      }
      const form = parseForm(Buffer.concat(chunks).toString('utf8'));
      const [status, body] = handle(req.method ?? 'GET', url.pathname, form, url.searchParams);
      if (idemKey && status === 200) state.idempotent.set(idemKey, body);
      answer(status, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    webhookSecret(url) {
      const endpoints = [...state.webhookEndpoints.values()].filter((e) => e.url === url);
      const last = endpoints[endpoints.length - 1];
      if (!last) throw new Error(`no webhook endpoint registered for ${url}`);
      return last.secret as string;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
