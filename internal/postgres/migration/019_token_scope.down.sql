ALTER TABLE api_tokens DROP CONSTRAINT IF EXISTS api_tokens_supervisor_scope;
ALTER TABLE api_tokens DROP COLUMN IF EXISTS structure, DROP COLUMN IF EXISTS all_structures,
    DROP COLUMN IF EXISTS expires_at, DROP COLUMN IF EXISTS last_used_at;
