-- The orientation's notification starts the 2025 contract month
-- (D5411-14-1 code du travail, issue 22 item 7): the read model shows it,
-- and whether it is the decision's date for want of a recorded one.
ALTER TABLE parcours ADD COLUMN orientation_notified_on date;
ALTER TABLE parcours ADD COLUMN orientation_notified_assumed boolean NOT NULL DEFAULT false;
