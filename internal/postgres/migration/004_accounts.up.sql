-- Web accounts (local passwords, hashed with argon2id) and their sessions.
CREATE TABLE accounts (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE,               -- stored lower-case
    name           text NOT NULL,
    role           text NOT NULL CHECK (role IN ('admin', 'department', 'supervisor', 'referent')),
    referent_id    text UNIQUE,                        -- the référent this account is (role referent)
    structure      text,                               -- a supervisor's structure or territory
    password_hash  text,                               -- argon2id, PHC string; NULL: OpenID Connect only
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz,
    CHECK (role <> 'referent' OR referent_id IS NOT NULL)
);

CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,                    -- SHA-256 of the cookie; the cookie itself is never stored
    account_id   uuid NOT NULL REFERENCES accounts (id),
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
