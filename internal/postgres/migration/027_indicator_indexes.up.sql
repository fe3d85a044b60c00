-- The indicators read, for a period, the hand-overs to France Travail
-- (events of one kind) and the entrants (parcours by entry date): both
-- scanned their whole table at every request (make bench: the events' scan
-- 20.65 ms at 9,000 parcours, growing with the events of every parcours).
CREATE INDEX events_handed_over ON events (occurred_on) WHERE kind = 'orientation_handed_over';
CREATE INDEX parcours_entered ON parcours (entered_on);
