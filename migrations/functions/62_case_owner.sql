-- One owner across group mailboxes (docs/crm.md): the case of a message that reached several group
-- accounts is created in one of them, the owner, whichever mailbox the importer polled first; its
-- auto-reply comes from the owner, possibly before the owner's own copy is imported.

-- Whether email `p_email` addresses mail account `p_account` as the importer's owner rule reads it
-- (`CaseOwner`): To or Cc names the account's address or one of its aliases, or an `X-Original-To` /
-- `Delivered-To` header names one of its aliases.
CREATE OR REPLACE FUNCTION mailroom_email_addresses_account(p_tenant bigint, p_email bigint, p_account bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM mail_account a
        WHERE a.tenant_id = p_tenant AND a.id = p_account AND (
            EXISTS (SELECT 1 FROM email_recipient r
                    WHERE r.tenant_id = p_tenant AND r.email_id = p_email AND r.kind IN ('to', 'cc')
                      AND (r.address = a.address OR r.address = ANY (a.aliases)))
            OR (cardinality(a.aliases) > 0 AND EXISTS (
                    SELECT 1 FROM email e, jsonb_array_elements(e.headers) h
                    WHERE e.tenant_id = p_tenant AND e.id = p_email
                      AND lower(h->>0) IN ('x-original-to', 'delivered-to')
                      AND lower(btrim(h->>1, E' \t\r\n<>')) = ANY (a.aliases)))));
END $$;
