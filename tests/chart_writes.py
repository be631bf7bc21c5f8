"""Kernel code that holds LiveChart's writes to its Perspective tables, for tests that must see a snapshot part way in.

Run in a kernel, `HOLD_AFTER_A_CHUNK` lets writes through until a chunk of rows has gone to Perspective's thread, then
holds them until `held[0] = False` (`ChartTable.write = write` puts the original back): whatever the machine's speed,
the chart is seen with some of its rows. Holding on the rows the table holds instead would let every chunk through
while a busy Perspective thread has yet to take the first one in.
"""

HOLD_AFTER_A_CHUNK = """
from rethink_widgets.jupyter.chart_table import ChartTable
held, write = [True], ChartTable.write
def held_write(self, *args, **kwargs):
    if not (held[0] and (self.table.size() or self._sent)):
        write(self, *args, **kwargs)
ChartTable.write = held_write
"""
