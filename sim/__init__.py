"""povsim: households leaving and returning to poverty under poverty-alleviation strategies."""

from sim.config import ConfigError, Scenario, load_scenario
from sim.model import PovertyModel
from sim.results import load_results

__all__ = [
    "ConfigError",
    "PovertyModel",
    "Scenario",
    "load_results",
    "load_scenario",
    "__version__",
]
__version__ = "0.1.0"
