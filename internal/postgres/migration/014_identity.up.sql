-- Identity matching, import leases and accent-insensitive search (issue #19).

-- Further identifiers of a beneficiary, besides beneficiaries.external_id:
--   external_id     another département identifier a later file gave for a
--                   person found by allocataire number and birth date;
--   nir_first_name  "<NIR body>:<folded first name>", written when the
--                   département decided that a line sharing someone's NIR
--                   is another person (CAF household NIR quirks): later
--                   lines with that NIR and first name go to that person.
CREATE TABLE beneficiary_identifiers (
    value           text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('external_id', 'nir_first_name')),
    beneficiary_id  uuid NOT NULL REFERENCES beneficiaries (id),
    import_id       uuid,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX beneficiary_identifiers_beneficiary ON beneficiary_identifiers (beneficiary_id);

-- Lines of an import that name an existing person with another name (same
-- NIR and another first name, or same allocataire number and birth date and
-- another name): nothing is applied until the département decides.
CREATE TABLE identity_conflicts (
    id              uuid PRIMARY KEY,                 -- UUIDv7: keyset order
    import_id       uuid REFERENCES imports (id) ON DELETE SET NULL,
    line            int NOT NULL,
    beneficiary_id  uuid NOT NULL REFERENCES beneficiaries (id),
    reason          text NOT NULL CHECK (reason IN ('first_name', 'name')),
    key             text NOT NULL,                    -- who the line names: folded names and birth date
    person          jsonb NOT NULL,                   -- the line as read (names and NIR stay here)
    created_at      timestamptz NOT NULL DEFAULT now(),
    decision        text CHECK (decision IN ('same', 'different')),
    decided_by      text,
    decided_at      timestamptz,
    result_id       uuid                              -- the person the line was applied to
);
CREATE INDEX identity_conflicts_pending ON identity_conflicts (id) WHERE decision IS NULL;
-- The same person named by the same other name waits once, however often
-- the file comes again (the latest line is kept).
CREATE UNIQUE INDEX identity_conflicts_once ON identity_conflicts (beneficiary_id, key) WHERE decision IS NULL;

-- Import leases: the running importer renews lease_until; serve's sweeper
-- marks a run interrupted once its lease has expired.
ALTER TABLE imports ADD COLUMN lease_until timestamptz, ADD COLUMN owner text;
CREATE INDEX imports_running ON imports (lease_until) WHERE status = 'running';

-- Accent- and case-insensitive search on names.
CREATE FUNCTION parcours_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT lower(translate(replace(replace(replace(replace($1, 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae'),
        'ÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸàâäáãåçéèêëíìîïñóòôöõúùûüýÿ’''-',
        'AAAAAACEEEEIIIINOOOOOUUUUYYaaaaaaceeeeiiiinooooouuuuyy   '))
$$;
ALTER TABLE beneficiaries ADD COLUMN search_name text
    GENERATED ALWAYS AS (parcours_fold(last_name || ' ' || first_name || ' / ' || first_name || ' ' || last_name)) STORED;
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may
-- create it. Without it, the search still works, by a scan.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): name search will scan', SQLERRM;
END $$;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX beneficiaries_search_name ON beneficiaries USING gin (search_name gin_trgm_ops)';
    END IF;
END $$;
