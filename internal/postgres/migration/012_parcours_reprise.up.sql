-- Reprise de l'existant (issue 19): the situation a reprise file gave for
-- the parcours (domain.Reprise as JSON: orientation, contract, stock mark,
-- obstacles, action). Reconciliation starts a late workflow from it; a
-- later file is compared with it to apply only what changed. NULL: the
-- parcours did not come from a reprise file.
ALTER TABLE parcours ADD COLUMN reprise jsonb;
