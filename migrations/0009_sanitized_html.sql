-- Sanitised HTML: what the host CRM may put into its pages, kept beside the original.
--
-- `email.body_html` stays exactly as received (or as queued): it is evidence, it can be exported on
-- request (`mailroom export --original-html`), and a better sanitiser can be run over it again. The
-- CRM renders `body_html_safe`, written by the worker (MailHTML: libxml2's HTML parser and an
-- allow-list; see docs/architecture.md):
--   * imported emails get it in the transaction that stores them;
--   * emails queued through SQL (`mailroom_queue_email`, the CRM's own inserts) get it from the
--     worker when it picks the send job up, so it may be NULL until then; `mailroom export`
--     sanitises on the fly when it is NULL.
-- NULL with a NULL `body_html` means there is no HTML part.
ALTER TABLE email ADD COLUMN body_html_safe text;

COMMENT ON COLUMN email.body_html IS
    'The HTML body as received or queued: NOT safe to render. Render body_html_safe.';
COMMENT ON COLUMN email.body_html_safe IS
    'body_html after the allow-list sanitiser (scripts, handlers, unsafe URLs and CSS removed): the HTML to render.';

-- What the sanitised copy does with images loaded from the network (tracking pixels tell the
-- sender when and where an email was read):
--   'allow' keeps http(s) image URLs;
--   'block' moves them to `data-blocked-src` (and drops remote CSS images), so the CRM can offer a
--           "show images" action. Inline `cid:` images and small `data:image/...` images stay.
-- 'allow' is the default: it keeps what the CRM showed before this migration. A change applies to
-- emails sanitised afterwards (stored copies are not rewritten).
ALTER TABLE tenant ADD COLUMN remote_images text NOT NULL DEFAULT 'allow'
    CONSTRAINT tenant_remote_images_check CHECK (remote_images IN ('allow', 'block'));
