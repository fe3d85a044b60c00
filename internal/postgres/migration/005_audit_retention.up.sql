-- Audit log retention. The application may delete rows only once they are
-- older than the retention it is configured with, and never younger than
-- 6 months (CNIL 2021 recommendation: at least 6 months); it can never
-- update one. The retention comes with the purge statement itself
-- (SET LOCAL parcours.audit_retention), so no stored setting can widen it.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep interval;
BEGIN
    IF TG_OP = 'DELETE' THEN
        keep := greatest(coalesce(nullif(current_setting('parcours.audit_retention', true), '')::interval, interval '100 years'),
                         interval '6 months');
        IF OLD.at < now() - keep THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: a row younger than the retention (%) cannot be deleted', keep;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
