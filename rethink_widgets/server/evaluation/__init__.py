"""Evaluation: ReQL terms to values.

`engine.Engine` runs a query: it compiles the query's term, evaluates it against storage and returns its result. The
layers, each importing only those below it:

- `json_writer` (datums as JSON text, as RethinkDB's rapidjson writes them), below all else: the core prints with it;
- the core, which every term family needs: `datums` (datums as Python values), `values` (functions, streams,
  selections, grouped data), `terms` (compiling and the registry of term implementations), `context` (what a query
  evaluates in, and reading arguments);
- helpers shared by the families: `fields`, `rows`, `tables`, `accumulators`, `ranked_slices`, `interleave`,
  `literals`, `pseudotypes`, `time_values`, `calendar_dates`, `json_reader`, `regexp`, `changefeed_sources`,
  `write_results`, `geometry`, `great_circles`, `spherical`, `geodesy`, `geo_cells`, and those of the system database
  in `system`;
- the term families, one module per family (they register their terms with `terms.operation` and never import one
  another): `arithmetic`, `arrays`, `changes`, `coercion`, `control`, `geospatial`, `grouping`, `javascript`,
  `joins`, `objects`, `ordering`, `reductions`, `schema`, `selections`, `sequences`, `strings`, `times`, `writes`, and
  `system.admin`, `system.grant`, `system.write_hooks`;
- `engine`, which imports the families to register them.
"""
