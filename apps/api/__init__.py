"""The APIs programs call with a key: Open311 GeoReport v2 and the integration API."""

# Called with an API key, never with a browser's cookies: no session, no CSRF token, errors as JSON.
API_PREFIXES = ("/open311/", "/api/")
