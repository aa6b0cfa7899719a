-- A dossier collected by the post is registered before it reaches the desk; its legal receipt instant is the
-- handover to the agency (postal's shipment.handed-to-agency), until which the desk cannot accept it.
ALTER TABLE dossiers ADD COLUMN awaiting_post boolean NOT NULL DEFAULT false;
