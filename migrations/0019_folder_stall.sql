-- A folder that stopped importing is an event for the host CRM (`folder.stalled`, docs/events.md),
-- written once per stall by the workers' maintenance. This column is what makes it once: set when the
-- stall is reported, cleared by the folder's next successful poll (MailFolderQueries), so a folder
-- that stalls again later is reported again.
ALTER TABLE mail_folder ADD COLUMN stalled_at timestamptz;
