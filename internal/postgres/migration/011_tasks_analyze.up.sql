-- Deadlines fall due together (a midnight's orientation deadlines): 10,000
-- tasks turning overdue in a table of 110,000 stayed under PostgreSQL's
-- default analyze threshold (10 % of the rows), the planner still believed
-- no task overdue, and the overdue list read every task instead of its
-- index (140 ms instead of 0.6 ms, make bench at 100,000). Analyze after 1 %.
ALTER TABLE tasks SET (autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 500);
