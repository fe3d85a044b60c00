-- E-mail digests to staff (issue #9, part 1).

-- An account may opt out of the daily digest.
ALTER TABLE accounts ADD COLUMN digest_opt_out boolean NOT NULL DEFAULT false;

-- One row per digest sent (or being sent) to one account for one day. The
-- unique key is what makes a retried activity never send twice: the row is
-- committed as 'sending' before the SMTP conversation and marked 'sent'
-- after it. A retry that finds 'sending' does not know whether the server
-- accepted the message, and marks it 'uncertain' instead of sending again.
CREATE TABLE digest_sendings (
    account_id   uuid NOT NULL REFERENCES accounts (id),
    day          date NOT NULL,                        -- the working day (Europe/Paris) of the digest
    status       text NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'uncertain')),
    overdue      int  NOT NULL,
    due_soon     int  NOT NULL,
    kinds        jsonb NOT NULL DEFAULT '{}',          -- counts per task kind: no names, no NIR
    attempts     int  NOT NULL DEFAULT 1,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    PRIMARY KEY (account_id, day)
);
CREATE INDEX digest_sendings_day ON digest_sendings (day DESC);
