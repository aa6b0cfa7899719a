-- The appointment in force, which the applicant tracks: the due instant set at acceptance, moved later by a paused
-- clock (supplement, financial obligation) and by an apology (routing's events). Lateness is still judged against
-- due_at, which never moves after acceptance.
ALTER TABLE dossiers ADD COLUMN appointment_at timestamptz;
UPDATE dossiers SET appointment_at = due_at WHERE appointment_at IS NULL;
