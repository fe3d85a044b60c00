ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_referent_id_fkey;
ALTER TABLE accounts DROP CONSTRAINT accounts_referent_id_fkey;
ALTER TABLE accounts DROP CONSTRAINT accounts_structure_fkey;
DROP TABLE referents;
DROP TABLE structures;
