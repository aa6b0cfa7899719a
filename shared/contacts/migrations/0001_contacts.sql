-- A service's copy of the applicants' contact records (notification, postal), from the compacted contacts topic: the
-- latest contact.recorded of each dossier. An erased contact keeps its row, emptied, so that the dossier's later
-- events know there is nobody to reach rather than wait for a record.
CREATE TABLE contacts (
    dossier_id  uuid        PRIMARY KEY,
    record      jsonb,                    -- the contact.recorded data; null once erased
    recorded_at timestamptz NOT NULL,
    erased_at   timestamptz
);
