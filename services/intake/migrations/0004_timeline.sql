-- Other services' events of intake's dossiers, for the public tracking timeline (the process control sheet).
CREATE TABLE timeline (
    event_id   text        PRIMARY KEY,
    dossier_id uuid        NOT NULL REFERENCES dossiers (id),
    event_type text        NOT NULL,
    source     text        NOT NULL,
    at         timestamptz NOT NULL,
    status     smallint
);
CREATE INDEX timeline_by_dossier ON timeline (dossier_id, at);
