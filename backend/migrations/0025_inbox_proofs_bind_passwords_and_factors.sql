-- Up Migration

-- A password chosen before anyone proved the inbox survives the first proof of the inbox only
-- when that proof comes from the client that chose it. The client holds a random verifier (in an
-- httpOnly cookie for web clients, or its own PKCE-style verifier sent as codeChallenge at
-- sign-up); the account keeps the verifier's S256 challenge until the inbox is proven.
ALTER TABLE auth.users ADD COLUMN password_binding text;

-- A second factor needs an owner who proved the inbox, so an account with factors is never
-- "unproven" and no inbox proof alone can ever remove a factor. Accounts that enrolled one before
-- this rule existed: the factor's holder is taken as the owner (their factor stays in force).
UPDATE auth.users u SET inbox_confirmed = true
 WHERE NOT u.inbox_confirmed AND NOT u.is_anonymous
   AND EXISTS (SELECT 1 FROM auth.mfa_factors f WHERE f.user_id = u.id AND f.status = 'verified');
-- Unfinished enrolments of unproven accounts are dropped; they can be started again once proven.
DELETE FROM auth.mfa_factors f
 USING auth.users u
 WHERE f.user_id = u.id AND NOT u.inbox_confirmed;

-- The same rule in the database, whatever code path adds or activates a factor.
CREATE FUNCTION auth.factor_needs_proven_inbox() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM auth.users u WHERE u.id = NEW.user_id AND u.inbox_confirmed) THEN
    RAISE EXCEPTION 'a second factor needs an account whose email address was proven'
      USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER mfa_factors_need_proven_inbox
  BEFORE INSERT OR UPDATE OF user_id, status ON auth.mfa_factors
  FOR EACH ROW EXECUTE FUNCTION auth.factor_needs_proven_inbox();

-- Down Migration

DROP TRIGGER IF EXISTS mfa_factors_need_proven_inbox ON auth.mfa_factors;
DROP FUNCTION IF EXISTS auth.factor_needs_proven_inbox();
ALTER TABLE auth.users DROP COLUMN IF EXISTS password_binding;
