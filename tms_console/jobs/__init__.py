"""Background jobs: the procrastinate app and its tasks. Thin: tasks call services."""
