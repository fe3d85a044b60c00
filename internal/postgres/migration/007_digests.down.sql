DROP TABLE digest_sendings;
ALTER TABLE accounts DROP COLUMN digest_opt_out;
