-- Structures and référents as records. Référent ids stay text: existing ids
-- (ref-42) keep working in parcours, tasks, accounts, tokens and workflow
-- histories; new ones are opaque (ref-k3x9q2m7ab), never a name.
CREATE TABLE structures (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    kind        text NOT NULL CHECK (kind IN ('ccas', 'mission_locale', 'france_travail', 'association', 'departement', 'autre')),
    address     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Homonyms are refused whatever the case or surrounding spaces.
CREATE UNIQUE INDEX structures_name_ci ON structures (lower(btrim(name)));

CREATE TABLE referents (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    email         text,                               -- stored lower-case
    structure_id  text NOT NULL REFERENCES structures (id),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX referents_email ON referents (email) WHERE email IS NOT NULL;
CREATE INDEX referents_structure ON referents (structure_id, lower(name), id);
CREATE INDEX referents_name ON referents (lower(name), id);

-- A structure for each organism and supervisor structure in use, one per
-- spelling up to case and spaces; kind guessed from the name, else « autre ».
INSERT INTO structures (id, name, kind)
SELECT 'str-' || substr(md5(random()::text || n.name), 1, 12), n.name,
       CASE WHEN n.name ILIKE '%ccas%' OR n.name ILIKE '%centre communal%' THEN 'ccas'
            WHEN n.name ILIKE '%mission locale%' THEN 'mission_locale'
            WHEN n.name ILIKE '%france travail%' OR n.name ILIKE '%p_le emploi%' THEN 'france_travail'
            WHEN n.name ILIKE '%d_partement%' OR n.name ILIKE '%conseil d_partemental%' THEN 'departement'
            WHEN n.name ILIKE '%association%' THEN 'association'
            ELSE 'autre' END
FROM (
    -- The most used spelling, mixed case before all capitals or none.
    SELECT DISTINCT ON (lower(name)) name
    FROM (SELECT btrim(name) AS name, count(*) AS uses
          FROM (SELECT structure AS name FROM accounts
                UNION ALL SELECT organism FROM orientations
                UNION ALL SELECT organism FROM parcours) s
          WHERE btrim(coalesce(name, '')) <> ''
          GROUP BY btrim(name)) spellings
    ORDER BY lower(name), uses DESC, (name = upper(name) OR name = lower(name)), name
) n;

-- Accounts name their structure exactly as the record does (renames follow).
UPDATE accounts a SET structure = s.name
FROM structures s WHERE lower(btrim(a.structure)) = lower(s.name) AND a.structure <> s.name;
UPDATE accounts SET structure = NULL WHERE btrim(structure) = '';
ALTER TABLE accounts ADD FOREIGN KEY (structure) REFERENCES structures (name) ON UPDATE CASCADE;

-- A référent for each id in use. Its structure: its account's, else the
-- organism of its latest orientation, else « Structure à préciser ».
CREATE TEMPORARY TABLE referent_ids ON COMMIT DROP AS
SELECT DISTINCT id FROM (
    SELECT referent_id AS id FROM parcours
    UNION ALL SELECT assignee FROM tasks
    UNION ALL SELECT referent_id FROM accounts
    UNION ALL SELECT referent_id FROM api_tokens
    UNION ALL SELECT referent_id FROM orientations) u
WHERE coalesce(id, '') <> '';

CREATE TEMPORARY TABLE referent_rows ON COMMIT DROP AS
SELECT r.id,
       coalesce(acc.name, 'Référent ' || r.id) AS name,
       acc.email,
       coalesce(acc.structure, (
           SELECT o.organism FROM orientations o WHERE o.referent_id = r.id
           ORDER BY o.decided_on DESC, o.seq DESC LIMIT 1), (
           SELECT p.organism FROM parcours p WHERE p.referent_id = r.id AND p.organism IS NOT NULL
           ORDER BY p.id DESC LIMIT 1)) AS structure,
       acc.disabled_at IS NULL OR acc.id IS NULL AS active
FROM referent_ids r
LEFT JOIN accounts acc ON acc.referent_id = r.id;

INSERT INTO structures (id, name, kind)
SELECT 'str-' || substr(md5(random()::text), 1, 12), 'Structure à préciser', 'autre'
WHERE EXISTS (SELECT 1 FROM referent_rows WHERE btrim(coalesce(structure, '')) = '')
ON CONFLICT DO NOTHING;

INSERT INTO referents (id, name, email, structure_id, active)
SELECT r.id, r.name, lower(r.email), s.id, r.active
FROM referent_rows r
JOIN structures s ON lower(s.name) = lower(btrim(coalesce(nullif(btrim(r.structure), ''), 'Structure à préciser')));

ALTER TABLE accounts ADD FOREIGN KEY (referent_id) REFERENCES referents (id);
ALTER TABLE api_tokens ADD FOREIGN KEY (referent_id) REFERENCES referents (id);
