-- A beneficiary's parcours, newest first: each import of a known person and
-- each intake reads their last parcours (was a scan of every parcours, only
-- the open one had an index).
CREATE INDEX parcours_by_beneficiary ON parcours (beneficiary_id, created_at);
