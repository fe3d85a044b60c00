-- Back to the text in place (the notes stay).
UPDATE actions a SET name = n.body FROM notes n WHERE n.id = a.name_note_id;
UPDATE actions a SET structure = n.body FROM notes n WHERE n.id = a.structure_note_id;
UPDATE reviews r SET obligation = n.body FROM notes n WHERE n.id = r.obligation_note_id;
ALTER TABLE reviews DROP COLUMN obligation_note_id;
ALTER TABLE actions DROP COLUMN structure_note_id, DROP COLUMN name_note_id;
