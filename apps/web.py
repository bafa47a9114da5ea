"""create_app(): plugins, middleware and routers; nothing else."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.template.config import TemplateConfig

from apps.admin.branding import BrandingController
from apps.admin.calendar import CalendarController
from apps.admin.controllers import AuthController, QueueController
from apps.admin.domains import DomainsController
from apps.admin.integrations import ApiKeysController, WebhooksController
from apps.admin.launch import EmbedController, LaunchController
from apps.admin.mail_texts import MailTextsController
from apps.admin.places import PlacesController
from apps.admin.questions import QuestionsController
from apps.admin.routing import RoutingController
from apps.admin.settings import SignInSettingsController
from apps.admin.team import InvitationController, TeamController
from apps.admin.types import RequestTypesController
from apps.api import API_PREFIXES
from apps.api.docs import ApiDocsController, openapi_config
from apps.api.integration import IntegrationController
from apps.api.open311 import Open311Controller
from apps.coming_soon import coming_soon
from apps.dev_inbox import DevInboxController
from apps.errors import HANDLERS
from apps.pages import provide_scope
from apps.platform.controllers import PlatformController
from apps.portal.account import AccountController
from apps.portal.controllers import PortalController
from apps.portal.nearby import NearbyController
from apps.portal.places import PlaceLookupController
from infra import templating
from infra.csrf import CsrfMiddleware
from infra.database import close_pool, start_pool
from infra.mail import Mailer
from infra.ratelimit import Counters, MemoryCounters, RateLimiter, RedisCounters
from infra.security import CheckedRequest, EdgeMiddleware, security_headers
from infra.sessions import SESSION_COOKIE, RotatingSessionConfig
from infra.settings import PROJECT_ROOT, Settings, get_settings
from infra.storage import storage_from_settings
from tenants.middleware import TenantMiddleware
from tenants.resolve import TenantResolver
from workflows.client import TemporalGateway

APPS = Path(__file__).parent
EXEMPT_FROM_TENANT = ("/static/", "/healthz", "/dev/", "/platform")
API_VERSION = "1.0"


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    from piccolo_conf import DB

    settings.var_dir.mkdir(parents=True, exist_ok=True)  # the file stores live there
    resolver = TenantResolver(settings.base_domain)
    temporal = TemporalGateway(settings)
    session_store: Store
    counters: Counters
    if settings.session_store_url.startswith("redis"):  # several web processes: they share one Redis
        from litestar.stores.redis import RedisStore  # only then: the client is 7 MB of an idle process
        from redis.asyncio import Redis

        redis = Redis.from_url(settings.session_store_url)
        session_store = RedisStore(redis, namespace="sessions", handle_client_shutdown=True)
        counters = RedisCounters(redis)
    else:
        session_store = FileStore(settings.var_dir / "sessions")
        counters = MemoryCounters()
    limiter = RateLimiter(counters, enabled=settings.rate_limits != "off")
    mailer = Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    storage = storage_from_settings(settings)
    environment = templating.install(
        Environment(
            loader=FileSystemLoader(
                [
                    APPS / "templates",
                    APPS / "portal" / "templates",
                    APPS / "admin" / "templates",
                    APPS / "platform" / "templates",
                    APPS / "api" / "templates",
                ]
            ),
            autoescape=select_autoescape(),
        )
    )
    route_handlers: list = [
        PortalController,
        NearbyController,
        PlaceLookupController,
        AccountController,
        AuthController,
        QueueController,
        SignInSettingsController,
        TeamController,
        RequestTypesController,
        QuestionsController,
        CalendarController,
        PlacesController,
        InvitationController,
        BrandingController,
        RoutingController,
        DomainsController,
        MailTextsController,
        LaunchController,
        EmbedController,
        PlatformController,
        ApiKeysController,
        WebhooksController,
        Open311Controller,
        IntegrationController,
        ApiDocsController,
        healthz,
    ]
    route_handlers.append(
        create_static_files_router(
            path="/static", directories=[APPS / "portal" / "static"], include_in_schema=False
        )
    )
    route_handlers.append(
        create_static_files_router(
            path="/static/vendor",
            directories=[PROJECT_ROOT / "node_modules" / "htmx.org" / "dist"],
            include_in_schema=False,
        )
    )
    route_handlers.append(
        create_static_files_router(
            path="/static/vendor/leaflet",
            directories=[PROJECT_ROOT / "node_modules" / "leaflet" / "dist"],
            include_in_schema=False,
        )
    )
    route_handlers.append(
        create_static_files_router(
            path="/static/vendor/swagger-ui",
            directories=[PROJECT_ROOT / "node_modules" / "swagger-ui-dist"],
            include_in_schema=False,
        )
    )
    if settings.development and settings.dev_inbox_dir:
        route_handlers.append(DevInboxController)

    async def on_startup() -> None:
        await start_pool(DB)

    async def on_shutdown() -> None:
        await close_pool(DB)

    return Litestar(
        route_handlers=route_handlers,
        dependencies={
            "temporal": Provide(lambda: temporal, sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "limiter": Provide(lambda: limiter, sync_to_thread=False),
            "mailer": Provide(lambda: mailer, sync_to_thread=False),
            "storage": Provide(lambda: storage, sync_to_thread=False),
            "tenant_scope": Provide(provide_scope),
        },
        middleware=[
            EdgeMiddleware,
            DefineMiddleware(
                TenantMiddleware,
                resolver=resolver,
                exempt_prefixes=EXEMPT_FROM_TENANT,
            ),
            RotatingSessionConfig(
                key=SESSION_COOKIE,
                exclude=["/static", "/healthz", *API_PREFIXES],
                store="sessions",
                # The longest session there is; each kind ends sooner by its own timeouts (infra.sessions).
                max_age=max(settings.citizen_session_seconds, settings.session_absolute_seconds),
                httponly=True,
                samesite="lax",
                secure=not settings.development,
            ).middleware,
            DefineMiddleware(
                CsrfMiddleware,
                secret=settings.secret_key,
                session_cookie=SESSION_COOKIE,
                secure=not settings.development,
                exempt_prefixes=API_PREFIXES,
            ),
        ],
        stores={"sessions": session_store},
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment)),
        exception_handlers=HANDLERS,
        before_send=[security_headers(settings.development)],
        request_class=CheckedRequest,
        before_request=coming_soon,
        openapi_config=openapi_config(API_VERSION),
        on_startup=[on_startup],
        state=State({"tenant_resolver": resolver}),
        on_shutdown=[on_shutdown],
        debug=False,
    )
