DROP FUNCTION IF EXISTS purge_audit_log(interval);
