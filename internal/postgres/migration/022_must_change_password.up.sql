-- An administrator's reset gives an account a temporary password, shown
-- once, and flags it: until its holder chooses a new one on « Mon compte »,
-- its sessions reach nothing else (issue 20, item 8). The first
-- administrator, whose password the service prints at its first start, is
-- flagged the same way.
ALTER TABLE accounts
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
    ADD COLUMN password_changed_at  timestamptz;
