DROP INDEX audit_log_ids;
DROP INDEX audit_log_record_id;
