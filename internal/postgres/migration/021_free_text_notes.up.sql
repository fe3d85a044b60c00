-- Free text typed by users leaves the workflow histories (issue 20, item 7):
-- an action's name and structure, and the contract obligation a breach
-- names, are kept in notes; the workflow carries only the notes' ids, and
-- the read model joins them. Rows recorded before keep their text in place.
ALTER TABLE actions
    ADD COLUMN name_note_id       uuid REFERENCES notes (id),
    ADD COLUMN structure_note_id  uuid REFERENCES notes (id);
ALTER TABLE reviews
    ADD COLUMN obligation_note_id uuid REFERENCES notes (id);
