-- Routing owns the dossier's status from acceptance on (design.md): its dossiers and the steps of their routes.
CREATE TABLE dossiers (
    id                uuid        PRIMARY KEY,
    code              text        NOT NULL,
    desk_code         text        NOT NULL,
    procedure_code    text        NOT NULL,
    procedure_version integer     NOT NULL,
    status            smallint    NOT NULL,
    received_at       timestamptz NOT NULL,
    due_at            timestamptz NOT NULL,
    calendar_version  text        NOT NULL,
    accepted_event_id text        NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- One row per step of a dossier's route (a line of the Mẫu 05 process control sheet).
CREATE TABLE steps (
    dossier_id   uuid        NOT NULL REFERENCES dossiers (id),
    step_id      text        NOT NULL,
    agency_code  text        NOT NULL,
    kind         text        NOT NULL,
    started_at   timestamptz NOT NULL,
    deadline_at  timestamptz NOT NULL,
    completed_at timestamptz,
    PRIMARY KEY (dossier_id, step_id)
);
CREATE INDEX steps_open_by_agency ON steps (agency_code, deadline_at) WHERE completed_at IS NULL;
