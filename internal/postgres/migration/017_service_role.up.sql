-- The service runs as a role that is neither the owner of the tables nor a
-- superuser (issue 20, item 5): it may only INSERT and SELECT the audit
-- log. The daily purge of rows older than the retention goes through this
-- function, which runs with its owner's rights and enforces the CNIL's
-- 6-month minimum itself. Grants: postgres.(*DB).GrantService.
CREATE FUNCTION purge_audit_log(retention interval) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    keep interval := greatest(retention, interval '183 days');
    n bigint;
BEGIN
    PERFORM set_config('parcours.audit_retention', keep::text, true);
    DELETE FROM audit_log WHERE at < now() - keep;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
REVOKE ALL ON FUNCTION purge_audit_log(interval) FROM PUBLIC;
