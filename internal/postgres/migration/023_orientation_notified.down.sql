ALTER TABLE parcours DROP COLUMN IF EXISTS orientation_notified_assumed;
ALTER TABLE parcours DROP COLUMN IF EXISTS orientation_notified_on;
