"""Strings: match (RethinkDB's regular expressions), split, upcase, downcase, and JSON text (to_json_string, r.json)."""
