"""The API's introduction, shown at the top of /api/docs/ and /api/redoc/."""

API_DESCRIPTION = """\
Catalogue, search, recommendations, events and the shopper's own data for the mobile
app; model, training and analytics endpoints for staff.

**Versioning.** The version is the first path segment (`/api/v1/`). Within a version,
fields and endpoints are only added, never removed or changed in meaning; a breaking
change gets `/api/v2/`, served beside v1 for at least six months.

**Authentication.** `POST /api/v1/auth/token/` with a username and password returns an
access token (15 minutes) and a refresh token (30 days); send
`Authorization: Bearer <access>`. `POST /api/v1/auth/token/refresh/` rotates the refresh
token; `POST /api/v1/auth/sign-out/` revokes it. The browser may use its session cookie
instead (with `X-CSRFToken` on unsafe requests). Shoppers who have not signed in send
`X-Device-Id` (8-57 letters, digits, `-` or `_`; use a random UUID, the only key to the
device's anonymous history): their events and personalization follow it, and signing in
with the same header joins the device's history to the account.

**Errors.** Every 4xx and 5xx answers `{"code", "message", "details"}`: `code` is stable
and machine-readable, `details` maps each field at fault to its reasons (`{}` when none).

**Caching.** Catalogue reads carry `ETag` and `Cache-Control`; send `If-None-Match` to get
a `304 Not Modified`.

**Throttling.** Per user (or per IP when anonymous); a `429` carries `Retry-After`.
"""
