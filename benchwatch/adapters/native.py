"""benchwatch's own result files, read through the same detection as imports."""

from __future__ import annotations

from benchwatch.adapters.registry import Format, Probe
from benchwatch.model import ResultSet
from benchwatch.resultfile import result_from_document


def _sniff(probe: Probe) -> bool:
    return isinstance(probe.document, dict) and "schema_version" in probe.document


def _load(probe: Probe) -> ResultSet:
    return result_from_document(probe.document, probe.path)


FORMAT = Format(name="benchwatch", description="benchwatch result JSON", sniff=_sniff, load=_load)
