"""Published JSON Schemas: inventory.schema.json (the `apexscan inventory --format json` document)."""
