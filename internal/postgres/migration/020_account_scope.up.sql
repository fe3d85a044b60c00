-- A supervisor's account names its structure, or says explicitly that it
-- sees every structure (issue 20, item 4); those made before without a
-- structure saw every structure and keep it, said so.
ALTER TABLE accounts ADD COLUMN all_structures boolean NOT NULL DEFAULT false;
UPDATE accounts SET all_structures = true WHERE role = 'supervisor' AND structure IS NULL;
