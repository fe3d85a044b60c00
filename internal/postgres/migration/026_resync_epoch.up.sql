-- The read model can be rebuilt (issue 21, item 3).
--
-- epoch: the write guard's first key. A write is applied when its
-- (epoch, version) is not older than the row's: a resync raises the epoch,
-- so that the state it sends wins even when its version is not newer (a
-- PostgreSQL restored from an older backup, a Temporal reset), and the
-- writes of a lower epoch still in flight are refused.
ALTER TABLE parcours ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE reviews ADD COLUMN epoch bigint NOT NULL DEFAULT 0;

-- parcours_identity: who a parcours belongs to, kept apart from the
-- parcours row (no foreign key to it), so that a deleted parcours row can
-- be recreated by the workflow's next write or resync: the workflow knows
-- its dates, status and records, never the person (names stay here).
CREATE TABLE parcours_identity (
    parcours_id     uuid PRIMARY KEY,
    beneficiary_id  uuid NOT NULL REFERENCES beneficiaries (id),
    entered_on      date NOT NULL,
    received_on     date NOT NULL,
    policy          text NOT NULL,
    previous_id     uuid,
    created_at      timestamptz NOT NULL
);

INSERT INTO parcours_identity (parcours_id, beneficiary_id, entered_on, received_on, policy, previous_id, created_at)
SELECT id, beneficiary_id, entered_on, received_on, policy, previous_id, created_at FROM parcours;

CREATE FUNCTION parcours_identity_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO parcours_identity (parcours_id, beneficiary_id, entered_on, received_on, policy, previous_id, created_at)
    VALUES (NEW.id, NEW.beneficiary_id, NEW.entered_on, NEW.received_on, NEW.policy, NEW.previous_id, NEW.created_at)
    ON CONFLICT (parcours_id) DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER parcours_identity_keep AFTER INSERT ON parcours
    FOR EACH ROW EXECUTE FUNCTION parcours_identity_keep();
