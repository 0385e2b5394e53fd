/** What each verification scheme is called and says, for the form and the endpoint's card. */
export const SCHEMES = {
  'standard-webhooks': {
    label: 'Standard Webhooks / Svix',
    hint: 'webhook-id, webhook-timestamp, webhook-signature; a whsec_ secret',
    defaultKey: 'header:webhook-id',
  },
  github: {
    label: 'GitHub',
    hint: 'X-Hub-Signature-256: sha256=<hex>',
    defaultKey: 'header:x-github-delivery',
  },
  stripe: { label: 'Stripe-style', hint: 'Stripe-Signature: t=…,v1=…', defaultKey: 'id' },
  hmac: { label: 'HMAC-SHA256', hint: 'Of the body, in a header you name', defaultKey: null },
  none: {
    label: 'Secret URL',
    hint: 'No signature: the URL ends with the secret',
    defaultKey: null,
  },
} as const satisfies Record<string, { label: string; hint: string; defaultKey: string | null }>;
