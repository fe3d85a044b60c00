ALTER TABLE accounts DROP COLUMN IF EXISTS all_structures;
