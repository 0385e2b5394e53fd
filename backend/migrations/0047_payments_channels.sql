-- Up Migration

-- Payment events are announced on `payments:<user id>` (realtime.publish, as Kiln). Whatever
-- channel the admin creates for them (`payments:%`), only that user may subscribe to theirs:
-- a restrictive policy, so it holds beside the permissive default.
CREATE POLICY payments_own_channel ON realtime.channels AS RESTRICTIVE FOR SELECT TO anon, authenticated
  USING (coalesce(current_setting('realtime.channel', true), '') NOT LIKE 'payments:%'
         OR current_setting('realtime.channel', true) = 'payments:' || auth.uid()::text);
