ALTER TABLE parcours DROP COLUMN reprise;
