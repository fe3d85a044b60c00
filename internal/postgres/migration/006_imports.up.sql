-- CAF/MSA flux and CSV imports (issue #7).

-- What the paying body says of the person and their household. Contact
-- fields come from the lists; like names and NIR, they stay here.
ALTER TABLE beneficiaries
    ADD COLUMN payer         text CHECK (payer IN ('CAF', 'MSA')),
    ADD COLUMN payer_number  text,              -- allocataire number (matricule), normalised
    ADD COLUMN payer_role    text,              -- DEM, CJT, ENF, AUT
    ADD COLUMN phone         text,
    ADD COLUMN email         text,
    ADD COLUMN payer_state   text,              -- open, pending, refused, suspended, closed
    ADD COLUMN payer_code    text,              -- ETATDOSRSA as sent
    ADD COLUMN payer_reason  text,              -- suspension or closure reason code
    ADD COLUMN payer_since   date,
    ADD COLUMN payer_seen_on date;              -- date of the file that said so
CREATE INDEX beneficiaries_payer_number ON beneficiaries (payer_number, birth_date) WHERE payer_number IS NOT NULL;

-- One row per import run: its progress while it runs, its report after.
CREATE TABLE imports (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('flux', 'csv')),
    file_name    text NOT NULL,
    sha256       text NOT NULL,
    size         bigint NOT NULL,
    actor        text NOT NULL,
    status       text NOT NULL CHECK (status IN ('running', 'done', 'refused', 'failed')),
    message      text,
    total        int NOT NULL DEFAULT 0,           -- people (or rows) in the file
    processed    int NOT NULL DEFAULT 0,
    created      int NOT NULL DEFAULT 0,
    updated      int NOT NULL DEFAULT 0,
    unchanged    int NOT NULL DEFAULT 0,
    rejected     int NOT NULL DEFAULT 0,
    ignored      int NOT NULL DEFAULT 0,           -- not subject to droits et devoirs, nothing to do
    info         jsonb NOT NULL DEFAULT '{}',
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX imports_started ON imports (started_at DESC);

-- Rejected rows or households, with their line and reason (no NIR, no name).
CREATE TABLE import_rejects (
    import_id  uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq        int NOT NULL,
    line       int NOT NULL,
    reason     text NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- The département's column mapping for CSV lists (one row).
CREATE TABLE import_mapping (
    id          int PRIMARY KEY CHECK (id = 1),
    mapping     jsonb NOT NULL,
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
