"""benchwatch's own result files, read through the same detection as imports."""

from __future__ import annotations

from benchwatch.adapters.registry import Format, Probe
from benchwatch.model import ResultSet
from benchwatch.resultfile import read_json_document, result_from_document


def _sniff(probe: Probe) -> bool:
    return isinstance(probe.document, dict) and "schema_version" in probe.document


def _load(probe: Probe) -> ResultSet:
    document = probe.document if probe.document is not None else read_json_document(probe.path)
    return result_from_document(document, probe.path)


FORMAT = Format(name="benchwatch", description="benchwatch result JSON", sniff=_sniff, load=_load)
