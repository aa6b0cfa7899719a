-- The last dossier number given per receiving unit and day (Circular 01/2018 Art. 19). Incremented in the
-- transaction that registers the dossier: a rollback gives the number back, so the sequence has no gaps.
CREATE TABLE dossier_code_counter (
    unit_code   text    NOT NULL,
    day         date    NOT NULL,
    last_number integer NOT NULL,
    PRIMARY KEY (unit_code, day)
);
