DROP TABLE import_mapping;
DROP TABLE import_rejects;
DROP TABLE imports;
DROP INDEX beneficiaries_payer_number;
ALTER TABLE beneficiaries
    DROP COLUMN payer, DROP COLUMN payer_number, DROP COLUMN payer_role,
    DROP COLUMN phone, DROP COLUMN email, DROP COLUMN payer_state, DROP COLUMN payer_code,
    DROP COLUMN payer_reason, DROP COLUMN payer_since, DROP COLUMN payer_seen_on;
