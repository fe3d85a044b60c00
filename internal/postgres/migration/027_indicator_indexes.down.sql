DROP INDEX parcours_entered;
DROP INDEX events_handed_over;
