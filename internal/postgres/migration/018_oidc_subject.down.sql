ALTER TABLE accounts DROP COLUMN IF EXISTS oidc_subject;
