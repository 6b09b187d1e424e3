"""Member-independence audit: is a packed model really ``M`` networks? ``audit_members`` (in ``audit``, with the
method described there) runs the probes of ``probes`` under a ``Layout`` of ``layouts`` and returns the
``IndependenceReport`` of ``findings``."""

from __future__ import annotations

from .audit import MODES, audit_members
from .findings import IndependenceReport, LayerFinding, SharedParameter
from .layouts import LAYOUTS, Layout, check_torch_uncertainty_version

__all__ = ["LAYOUTS", "MODES", "IndependenceReport", "LayerFinding", "Layout", "SharedParameter", "audit_members",
           "check_torch_uncertainty_version"]
