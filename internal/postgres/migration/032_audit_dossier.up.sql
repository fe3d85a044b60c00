-- The audit log's « dossier » filter (a person's right of access: who saw
-- their dossier) finds the lines of the dossier by record_id, whatever the
-- record type, and the lists it appeared in: their lines name the ids shown
-- in detail.ids.
CREATE INDEX audit_log_record_id ON audit_log (record_id);
CREATE INDEX audit_log_ids ON audit_log USING gin ((detail -> 'ids'));
