DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE api_tokens;
DROP TABLE events;
DROP TABLE tasks;
DROP TABLE deadlines;
DROP TABLE parcours;
DROP TABLE beneficiaries;
