-- Up Migration

-- Payment events are announced on `payments:<user id>` (realtime.publish, as Kiln). Whatever
-- channel the admin creates for them (`payments:%`), only that user may subscribe to theirs:
-- a restrictive policy, so it holds beside the permissive default.
CREATE POLICY payments_own_channel ON realtime.channels AS RESTRICTIVE FOR SELECT TO anon, authenticated
  USING (coalesce(current_setting('realtime.channel', true), '') NOT LIKE 'payments:%'
         OR current_setting('realtime.channel', true) = 'payments:' || auth.uid()::text);

-- An application's policy may read payments.subscriptions without naming a role (`CREATE POLICY
-- … USING (EXISTS (SELECT 1 FROM payments.subscriptions …))` applies to anon too): anon may read
-- the billing tables, where no policy gives it a row, so such a policy is false for it instead of
-- failing the whole query with "permission denied for schema payments".
GRANT USAGE ON SCHEMA payments TO anon;
GRANT SELECT ON payments.products, payments.prices, payments.items, payments.plans,
  payments.customers, payments.subscriptions, payments.transactions,
  payments.checkout_sessions, payments.orders TO anon;
