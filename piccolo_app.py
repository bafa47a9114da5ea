"""The single Piccolo app: all tables, one migrations folder (migrations/), one history."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from domain.tables import (
    ApiKey,
    AuditEntry,
    Citizen,
    Department,
    Document,
    Notification,
    Place,
    ReferenceCounter,
    RequestEvent,
    RequestFollower,
    RequestQuestion,
    RequestType,
    RoutingRule,
    ServiceRequest,
    SignInLink,
    SignInProvider,
    StaffDepartment,
    StaffUser,
    TownMap,
    WebhookDelivery,
    WebhookSubscription,
)
from tenants.tables import PlatformAdmin, Tenant, TenantDomain

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[
        Tenant,
        TenantDomain,
        Department,
        RequestType,
        StaffUser,
        StaffDepartment,
        RoutingRule,
        ServiceRequest,
        RequestFollower,
        RequestEvent,
        ReferenceCounter,
        Document,
        Notification,
        Citizen,
        SignInLink,
        SignInProvider,
        PlatformAdmin,
        AuditEntry,
        ApiKey,
        WebhookSubscription,
        WebhookDelivery,
        RequestQuestion,
        Place,
        TownMap,
    ],
)
