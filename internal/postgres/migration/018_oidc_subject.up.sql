-- An account is bound to its identity provider's subject at its first
-- OpenID Connect login (issue 20, item 8): later logins find it by the
-- subject, so that an e-mail address changed at the provider cannot take
-- over another account. "<issuer> <sub>".
ALTER TABLE accounts ADD COLUMN oidc_subject text UNIQUE;
