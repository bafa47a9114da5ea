import pytest

from domain.scope import MissingTenantError, TenantScope
from infra.i18n import pick_language
from tenants.resolve import slug_from_host


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("springfield.localhost:8000", "springfield"),
        ("SPRINGFIELD.localhost", "springfield"),
        ("localhost:8000", None),
        ("a.b.localhost", None),
        ("springfield.localhost.evil.com", None),
        ("", None),
    ],
)
def test_the_tenant_slug_comes_only_from_a_direct_subdomain(host, slug):
    assert slug_from_host(host, "localhost") == slug


@pytest.mark.parametrize("tenant_id", [None, 0, -1, "1"])
def test_domain_code_cannot_run_without_a_tenant(tenant_id):
    with pytest.raises(MissingTenantError):
        TenantScope(tenant_id)


def test_language_follows_choice_then_browser_then_tenant_default():
    assert pick_language("fr", "en-CA", ("en", "fr")) == "fr"
    assert pick_language(None, "fr-CA,fr;q=0.9,en;q=0.5", ("en", "fr")) == "fr"
    assert pick_language("de", "de-DE", ("fr", "en")) == "fr"
    assert pick_language("fr", None, ("en",)) == "en"
