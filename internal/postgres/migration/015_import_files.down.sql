ALTER TABLE import_rejects DROP COLUMN kind;
DELETE FROM imports WHERE kind = 'xlsx';
ALTER TABLE imports DROP CONSTRAINT imports_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_kind_check CHECK (kind IN ('flux', 'csv'));
-- Beneficiaries imported without a birth date keep none: the constraint
-- comes back only when every row has one.
ALTER TABLE beneficiaries ALTER COLUMN birth_date SET NOT NULL;
