-- Whether the clinic lets {{.Treatment}} name the treatment in texts and
-- email subjects. Off by default: lock screens show them to anyone nearby,
-- so messages say "your treatment" unless the clinic chooses otherwise.
ALTER TABLE clinics ADD COLUMN show_treatment INTEGER NOT NULL DEFAULT 0;
