-- Batched webhook deliveries (docs/webhooks.md, "Batches"): an endpoint may take up to `batch_size`
-- events per POST, as `{"events": [...]}`, instead of one envelope per POST (1, the default). A
-- receiver that opts in trades one request per event for one per batch: far fewer requests, each
-- acknowledging all of its events at once.
ALTER TABLE webhook_endpoint
    ADD COLUMN batch_size integer NOT NULL DEFAULT 1 CHECK (batch_size BETWEEN 1 AND 1000);
