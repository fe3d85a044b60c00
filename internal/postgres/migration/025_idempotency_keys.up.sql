-- Idempotency keys of the routes that create a record no workflow
-- remembers (issue 21, item 5): a référent, a letter. A request retried
-- with the key of a request that created a record answers that record.
CREATE TABLE idempotency_keys (
    scope      text NOT NULL,                      -- the caller (the actor's id)
    route      text NOT NULL,                      -- what was created, under what: referent, letter:<review id>
    key        text NOT NULL,                      -- the client's Idempotency-Key
    record_id  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, route, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
