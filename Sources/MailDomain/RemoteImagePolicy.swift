/// What a tenant's sanitised HTML does with images loaded from the network (`tenant.remote_images`).
///
/// A remote image tells its sender when, and from where, an email was opened (tracking pixels), so
/// some tenants block them. Inline images (`cid:`, the email's own attachments) and the small
/// `data:image/…` set are never remote and always stay.
public enum RemoteImagePolicy: String, Sendable, CaseIterable {
    /// `img src` keeps its http(s) URL.
    case allow
    /// `img src` with an http(s) URL becomes `data-blocked-src` (the CRM may offer "show images");
    /// CSS and `background` attributes that load remote images are removed.
    case block
}
