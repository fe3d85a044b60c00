-- The 1 January 2027 campaign (issue 19): its stock contract deadlines by
-- status, in parcours order. The campaign's counts read it alone (an
-- index-only scan, with the rule set), and its list's keyset pages walk
-- it backwards for a status. At 100,000 parcours (60,000 in the stock), on
-- a loaded machine: the counts 343-440 ms without it, 224-332 ms with it;
-- the overdue list of one structure 107-160 ms without, 22 ms with.
CREATE INDEX deadlines_stock ON deadlines (status, parcours_id) INCLUDE (rule_set)
    WHERE kind = 'contract' AND basis = 'stock';
