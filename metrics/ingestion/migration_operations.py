"""Migration operations shared by several migrations."""

from django.db import migrations


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex whose database part runs on PostgreSQL only (the model state always has the index): SQLite
    cannot create an index with NULLS LAST, and the embedded database is small enough not to need one."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
