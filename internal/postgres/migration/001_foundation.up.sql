-- Beneficiaries: the only place names and NIR are kept.
CREATE TABLE beneficiaries (
    id           uuid PRIMARY KEY,
    external_id  text NOT NULL UNIQUE,          -- the département's identifier (CAF number...)
    nir          text,                          -- 13 characters, or 15 with the key
    nir_body     text GENERATED ALWAYS AS (left(nir, 13)) STORED,
    last_name    text NOT NULL,
    first_name   text NOT NULL,
    birth_date   date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX beneficiaries_nir_body ON beneficiaries (nir_body) WHERE nir_body IS NOT NULL;

-- One row per parcours; written by the intake, then by the workflow's SyncParcours.
CREATE TABLE parcours (
    id                   uuid PRIMARY KEY,      -- UUIDv7: ordered by creation
    beneficiary_id       uuid NOT NULL REFERENCES beneficiaries (id),
    entered_on           date NOT NULL,
    received_on          date NOT NULL,
    policy               text NOT NULL,
    status               text NOT NULL,
    track                text,
    organism             text,
    referent_id          text,
    oriented_on          date,
    contract             jsonb,
    version              bigint NOT NULL DEFAULT -1,
    workflow_started_at  timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    closed_at            timestamptz
);
-- A person has at most one open parcours: the intake's dedupe rests on it.
CREATE UNIQUE INDEX parcours_one_open ON parcours (beneficiary_id) WHERE closed_at IS NULL;
CREATE INDEX parcours_referent ON parcours (referent_id, id);
CREATE INDEX parcours_status ON parcours (status, id);
CREATE INDEX parcours_unstarted ON parcours (created_at) WHERE workflow_started_at IS NULL;

CREATE TABLE deadlines (
    parcours_id  uuid NOT NULL REFERENCES parcours (id),
    kind         text NOT NULL,
    basis        text NOT NULL,
    cycle        int  NOT NULL,
    rule_set     text NOT NULL,
    due_on       date NOT NULL,
    anchor       text NOT NULL,
    anchor_on    date NOT NULL,
    rule         text NOT NULL,
    status       text NOT NULL,
    met_on       date,
    overdue_at   timestamptz,
    PRIMARY KEY (parcours_id, kind, basis, cycle)
);

CREATE TABLE tasks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parcours_id  uuid NOT NULL REFERENCES parcours (id),
    kind         text NOT NULL,
    cycle        int  NOT NULL,
    due_on       date,
    status       text NOT NULL,
    assignee     text,
    overdue_at   timestamptz,
    done_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (parcours_id, kind, cycle)              -- a retried activity never duplicates a task
);
CREATE INDEX tasks_open_by_due ON tasks (due_on, id) WHERE status = 'open';
CREATE INDEX tasks_open_by_assignee ON tasks (assignee, due_on) WHERE status = 'open';

CREATE TABLE events (
    parcours_id  uuid NOT NULL REFERENCES parcours (id),
    seq          int  NOT NULL,
    kind         text NOT NULL,
    occurred_on  date NOT NULL,
    at           timestamptz NOT NULL,
    summary      text NOT NULL,
    PRIMARY KEY (parcours_id, seq)
);

CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'department', 'supervisor', 'referent')),
    referent_id  text,
    token_hash   bytea NOT NULL UNIQUE,         -- SHA-256 of the token; the token itself is never stored
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CHECK (role <> 'referent' OR referent_id IS NOT NULL)
);

-- Audit log (CNIL 2021 recommendation): every consultation and change of a dossier.
-- Append-only, enforced here and not only in code.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    role         text NOT NULL,
    action       text NOT NULL,
    record_type  text NOT NULL,
    record_id    text,
    detail       jsonb
);
CREATE INDEX audit_log_record ON audit_log (record_type, record_id, at);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
