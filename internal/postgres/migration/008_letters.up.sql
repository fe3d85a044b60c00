-- Letters of the sanction procedure (issue #9, part 2).

-- The person's postal address, as last typed on a letter: like names and
-- NIR, it stays here.
ALTER TABLE beneficiaries ADD COLUMN postal_address text;

-- The département's letterhead: one row.
CREATE TABLE letterhead (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    head        jsonb NOT NULL,                   -- domain.Letterhead
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);

-- The body of each kind of letter, when the département edited it.
CREATE TABLE letter_templates (
    kind        text PRIMARY KEY CHECK (kind IN ('notice', 'convocation', 'decision')),
    body        text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);

-- Numbers are per year, without gaps: the last one given.
CREATE TABLE letter_numbers (
    year  int PRIMARY KEY,
    last  int NOT NULL
);

-- One row per letter. A draft may be produced again (it keeps its number);
-- once its sending is recorded, its PDF and hash never change (trigger).
CREATE TABLE letters (
    id           uuid PRIMARY KEY,
    review_id    text NOT NULL REFERENCES reviews (id),
    parcours_id  uuid NOT NULL REFERENCES parcours (id),
    kind         text NOT NULL CHECK (kind IN ('notice', 'convocation', 'decision')),
    number       text NOT NULL UNIQUE,
    dated_on     date NOT NULL,
    params       jsonb NOT NULL,                  -- what the letter was asked with, without the address
    status       text NOT NULL CHECK (status IN ('draft', 'sent')),
    pdf          bytea NOT NULL,
    sha256       text NOT NULL,
    mode         text,
    sent_on      date,
    received_on  date,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL,
    sent_by      text,
    received_by  text,
    CHECK (status = 'draft' OR sent_on IS NOT NULL)
);
CREATE UNIQUE INDEX letters_one_draft ON letters (review_id, kind) WHERE status = 'draft';
CREATE INDEX letters_review ON letters (review_id, created_at);

CREATE FUNCTION letters_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'sent' THEN
            RAISE EXCEPTION 'letter % was sent: it cannot be deleted', OLD.number USING ERRCODE = 'check_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'sent' AND (NEW.pdf IS DISTINCT FROM OLD.pdf OR NEW.sha256 IS DISTINCT FROM OLD.sha256
        OR NEW.number IS DISTINCT FROM OLD.number OR NEW.params IS DISTINCT FROM OLD.params OR NEW.dated_on IS DISTINCT FROM OLD.dated_on
        OR NEW.status IS DISTINCT FROM OLD.status OR NEW.sent_on IS DISTINCT FROM OLD.sent_on
        OR (OLD.received_on IS NOT NULL AND NEW.received_on IS DISTINCT FROM OLD.received_on)) THEN
        RAISE EXCEPTION 'letter % was sent: it cannot change', OLD.number USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER letters_frozen BEFORE UPDATE OR DELETE ON letters FOR EACH ROW EXECUTE FUNCTION letters_frozen();
