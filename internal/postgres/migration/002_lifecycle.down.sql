DROP TABLE follow_ups;
DROP TABLE actions;
DROP TABLE contracts;
DROP TABLE orientations;
ALTER TABLE events DROP COLUMN note_id, DROP COLUMN actor;
DROP TABLE notes;
ALTER TABLE deadlines DROP COLUMN opens_on, DROP COLUMN task;
ALTER TABLE parcours DROP COLUMN obstacles, DROP COLUMN exited_on, DROP COLUMN exit_reason, DROP COLUMN previous_id;
