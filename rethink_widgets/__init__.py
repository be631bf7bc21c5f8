"""rethink_widgets: live RethinkDB changefeed widgets for Jupyter, with an embedded ReQL server."""

__version__ = "0.1.0"
