DROP TABLE review_steps;
DROP TABLE reviews;
