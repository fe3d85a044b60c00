-- Import files (issue 19, "files" part).

-- Lists départements hold often lack the birth date: a person identified by
-- NIR or by the département's identifier is kept without one (the
-- allocataire number alone still needs it, checked by the importer).
ALTER TABLE beneficiaries ALTER COLUMN birth_date DROP NOT NULL;

-- Workbooks are imported like CSV lists.
ALTER TABLE imports DROP CONSTRAINT imports_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_kind_check CHECK (kind IN ('flux', 'csv', 'xlsx'));

-- A report line is a reject, a warning (an optional value dropped, a
-- default used: the line was applied) or an information (what changed).
ALTER TABLE import_rejects
    ADD COLUMN kind text NOT NULL DEFAULT 'reject' CHECK (kind IN ('reject', 'warning', 'info'));
