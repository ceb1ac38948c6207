-- Drop workshops.

DROP TABLE workshops;
