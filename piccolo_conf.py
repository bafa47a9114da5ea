"""Piccolo's entry point: one app, one migrations folder, the engine from DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

from infra.database import engine_for_settings

DB = engine_for_settings()

APP_REGISTRY = AppRegistry(apps=["piccolo_app"])
