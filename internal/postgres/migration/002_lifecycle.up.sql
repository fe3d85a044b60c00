-- The whole parcours: re-entries, exits, orientations, contracts, actions,
-- follow-ups, notes, and who recorded each event.
ALTER TABLE parcours
    ADD COLUMN previous_id     uuid REFERENCES parcours (id),
    ADD COLUMN exit_reason     text,
    ADD COLUMN exited_on       date,
    ADD COLUMN obstacles       text[] NOT NULL DEFAULT '{}';  -- L262-31 categories; health is special-category data

ALTER TABLE deadlines
    ADD COLUMN task      text,
    ADD COLUMN opens_on  date;

-- Free text (reasons, notes, assessments) lives here, never in workflow histories.
CREATE TABLE notes (
    id           uuid PRIMARY KEY,
    parcours_id  uuid NOT NULL REFERENCES parcours (id),
    kind         text NOT NULL,
    body         text NOT NULL,
    author       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_parcours ON notes (parcours_id);

ALTER TABLE events
    ADD COLUMN actor    text,
    ADD COLUMN note_id  uuid REFERENCES notes (id);

CREATE TABLE orientations (
    parcours_id      uuid NOT NULL REFERENCES parcours (id),
    seq              int  NOT NULL,
    track            text NOT NULL,
    organism         text NOT NULL,
    referent_id      text NOT NULL,
    decided_on       date NOT NULL,
    previous_on      date,
    within_6_months  boolean NOT NULL DEFAULT false,   -- a re-orientation within 6 months of the previous orientation
    note_id          uuid REFERENCES notes (id),
    recorded_by      text,
    PRIMARY KEY (parcours_id, seq)
);

CREATE TABLE contracts (
    parcours_id         uuid NOT NULL REFERENCES parcours (id),
    seq                 int  NOT NULL,
    kind                text NOT NULL,
    signed_on           date NOT NULL,
    starts_on           date NOT NULL,
    ends_on             date NOT NULL,
    assessment_note_id  uuid REFERENCES notes (id),     -- the previous contract's assessment
    recorded_by         text,
    PRIMARY KEY (parcours_id, seq)
);
CREATE INDEX contracts_signed ON contracts (signed_on);

CREATE TABLE actions (
    parcours_id       uuid NOT NULL REFERENCES parcours (id),
    seq               int  NOT NULL,
    name              text NOT NULL,
    kind              text NOT NULL,
    structure         text NOT NULL,
    starts_on         date NOT NULL,
    planned_end_on    date NOT NULL,
    ended_on          date,
    outcome_category  text,
    outcome_detail    text,
    PRIMARY KEY (parcours_id, seq)
);

CREATE TABLE follow_ups (
    parcours_id      uuid NOT NULL REFERENCES parcours (id),
    action_seq       int  NOT NULL,
    months           int  NOT NULL CHECK (months IN (3, 6)),
    opens_on         date NOT NULL,
    due_on           date NOT NULL,
    answered_on      date,
    situation        text,
    employment_kind  text,
    note_id          uuid REFERENCES notes (id),
    cancelled        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (parcours_id, action_seq, months)
);
