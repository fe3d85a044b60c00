DROP TRIGGER parcours_identity_keep ON parcours;
DROP FUNCTION parcours_identity_keep();
DROP TABLE parcours_identity;
ALTER TABLE reviews DROP COLUMN epoch;
ALTER TABLE parcours DROP COLUMN epoch;
