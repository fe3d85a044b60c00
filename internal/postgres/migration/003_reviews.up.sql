-- Escalation to sanction: one row per case (SuspensionReview workflow) and
-- its dated, attributed steps. The département's review queue reads here.
CREATE TABLE reviews (
    id             text PRIMARY KEY,                      -- <parcours id>-<n>
    parcours_id    uuid NOT NULL REFERENCES parcours (id),
    number         int  NOT NULL,
    status         text NOT NULL,
    breach_kind    text NOT NULL,
    obligation     text,
    facts_note_id  uuid REFERENCES notes (id),
    reported_on    date NOT NULL,
    repeat         boolean NOT NULL,
    notice_sent_on date,
    notice_received_on date,
    observation_ends_on date,
    decided_on     date,
    sanction_kind  text,
    percent        int,
    months         int,
    effective_on   date,
    payback_cents  bigint,
    appeal_due_on  date,
    state          jsonb NOT NULL,                        -- the whole case, for the dossier page
    version        bigint NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (parcours_id, number)
);
CREATE INDEX reviews_status ON reviews (status, reported_on);

CREATE TABLE review_steps (
    review_id    text NOT NULL REFERENCES reviews (id),
    seq          int  NOT NULL,
    kind         text NOT NULL,
    occurred_on  date NOT NULL,
    at           timestamptz NOT NULL,
    summary      text NOT NULL,
    actor        text,
    note_id      uuid REFERENCES notes (id),
    PRIMARY KEY (review_id, seq)
);
