"""The procrastinate app and its tasks: thin, each one calls a service."""

from tms_console.jobs.app import create_app

__all__ = ["create_app"]
