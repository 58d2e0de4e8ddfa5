"""The Dagster code location: `dagster dev -m whisper_assets.definitions` (what `whisper-assets dev`
runs), workspace.yaml, pyproject's [tool.dagster], the code server and every run worker load `defs`.

The module's name is the code location's name, under which the instance keeps the schedules' and
sensors' on/off states and the sensor's cursor: it stays `whisper_assets.definitions` whatever the
package layout (under a new name, every schedule an operator paused, pruning included, would run
again). What it serves is built in defs/definitions.py; settings are read once, when Dagster calls
`defs()`, never on import.
"""

import dagster as dg

from whisper_assets.core.settings import load_settings
from whisper_assets.defs.definitions import build_definitions


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
