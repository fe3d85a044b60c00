-- The task lists' order (overdue first, then by due date, then id): the
-- inbox, the overdue list and the dashboard read the open tasks in this
-- index's order and stop at their LIMIT, instead of sorting every open task
-- at each request (make bench: 110,000 open tasks).
CREATE INDEX tasks_open_by_urgency ON tasks ((overdue_at IS NULL), due_on, id) WHERE status = 'open';
