-- The reason and legal basis of a refusal, printed on the Mẫu 03 (expand only: older code ignores the column).
ALTER TABLE dossiers ADD COLUMN refusal jsonb;
