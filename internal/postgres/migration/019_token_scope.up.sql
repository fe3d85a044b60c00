-- Tokens carry a scope, an optional expiry and their last use (issue 20,
-- item 4). A supervisor's token names its structure, or says explicitly
-- that it sees every structure; those made before saw every structure and
-- keep it, said so.
ALTER TABLE api_tokens
    ADD COLUMN structure      text,
    ADD COLUMN all_structures boolean NOT NULL DEFAULT false,
    ADD COLUMN expires_at     timestamptz,
    ADD COLUMN last_used_at   timestamptz;
UPDATE api_tokens SET all_structures = true WHERE role = 'supervisor' AND structure IS NULL;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_supervisor_scope
    CHECK (role <> 'supervisor' OR structure IS NOT NULL OR all_structures);
