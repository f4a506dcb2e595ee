"""The generic engine: serves any OpenAPI 3 document, with behaviours from plugins.

The public API, for plugins, the harness and the CLI::

    from mockserver.engine import create_app, MockConfig, Plugin, Builder, BehaviourSet, Call
"""

from .app import MockApp, create_app
from .auth import Principal
from .behaviours import BehaviourSet
from .bundled import SpecSource, bundled_apis, parse_spec_arg, scenario_dirs
from .call import Call
from .clock import Clock
from .config import MockConfig, StartupError
from .errors import Reject
from .plugin import Builder, Plugin, PluginError, PluginOption, discover_plugins
from .response import NO_BODY, MockResponse
from .services import Services

__all__ = [
    "NO_BODY", "BehaviourSet", "Builder", "Call", "Clock", "MockApp", "MockConfig", "MockResponse", "Plugin",
    "PluginError", "PluginOption", "Principal", "Reject", "Services", "SpecSource", "StartupError",
    "bundled_apis", "create_app", "discover_plugins", "parse_spec_arg", "scenario_dirs",
]
