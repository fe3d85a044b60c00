DROP INDEX IF EXISTS beneficiaries_search_name;
ALTER TABLE beneficiaries DROP COLUMN search_name;
DROP FUNCTION parcours_fold(text);
DROP INDEX imports_running;
ALTER TABLE imports DROP COLUMN lease_until, DROP COLUMN owner;
DROP TABLE identity_conflicts;
DROP TABLE beneficiary_identifiers;
