DROP TABLE letters;
DROP FUNCTION letters_frozen();
DROP TABLE letter_numbers;
DROP TABLE letter_templates;
DROP TABLE letterhead;
ALTER TABLE beneficiaries DROP COLUMN postal_address;
