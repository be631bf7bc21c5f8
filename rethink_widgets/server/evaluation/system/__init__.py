"""The `rethinkdb` system database: its tables, users and permissions, and the configuration of databases and tables.

Helpers: `catalog` (names, ids, configuration rows, stored write hooks), `permissions` (checking them), `placement`
(shards and replicas), `hook_runner`, and the system tables: `system_table` (what they share), `config_tables`,
`access_tables`, `server_tables`, gathered by name in `database`. Term families: `admin` (config, status, reconfigure,
rebalance), `grant`, `write_hooks`.
"""
