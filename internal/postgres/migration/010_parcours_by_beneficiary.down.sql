DROP INDEX parcours_by_beneficiary;
