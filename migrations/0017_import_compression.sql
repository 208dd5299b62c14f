-- Imported bodies, header fields and attachments are compressed with LZ4 instead of PostgreSQL's
-- default pglz: in a profile of the import, pglz_compress was the largest single entry of the
-- database's CPU (about an eighth of it), spent on HTML and text bodies. LZ4 compresses several
-- times faster for a somewhat larger result, and gives up sooner on data that does not compress
-- (most attachments: images, PDF, archives). Only values written from now on are affected; older
-- ones stay readable as they are. A server built without LZ4 support keeps pglz (the import then
-- works as before), so the migration does not depend on how PostgreSQL was built.
DO $$
BEGIN
    ALTER TABLE email
        ALTER COLUMN body_text SET COMPRESSION lz4,
        ALTER COLUMN body_html SET COMPRESSION lz4,
        ALTER COLUMN body_html_safe SET COMPRESSION lz4,
        ALTER COLUMN headers SET COMPRESSION lz4;
    ALTER TABLE attachment ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 compression is not available on this server; imported mail stays compressed with pglz';
END $$;
