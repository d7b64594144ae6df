"""What an import produced: the procedures kept, the records skipped (with reasons) and parse warnings.

Nothing is dropped silently: every input record ends up either in `procedures` or in `skipped`,
and every field the parser could not read fully is counted in `warnings`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from knowledge_base.schema import Procedure

MAX_EXAMPLES = 3  # examples kept per warning kind: enough to find the record, small enough to print


class SkippedRecord(BaseModel):
    path: str
    reason: str


class FieldWarnings(BaseModel):
    """Parse problems of one field (e.g. `channels`): how many records, and a few examples."""

    count: int = 0
    examples: list[str] = Field(default_factory=list)


class FieldCoverage(BaseModel):
    """Of the records whose source has a field, how many got it parsed into structure."""

    present: int = 0
    parsed: int = 0

    @property
    def ratio(self) -> float:
        return self.parsed / self.present if self.present else 1.0


class ImportReport(BaseModel):
    source: str
    format: str  # "national" or "seed"
    total: int = 0  # input records seen
    procedures: list[Procedure] = Field(default_factory=list)
    skipped: list[SkippedRecord] = Field(default_factory=list)
    warnings: dict[str, FieldWarnings] = Field(default_factory=dict)
    coverage: dict[str, FieldCoverage] = Field(default_factory=dict)
    # Province facts merged over the records (knowledge_base.importers.local_facts): the file, one line per
    # field replaced ("1.001193: fee (truc_tiep): 'Miễn phí' -> '...'"), codes the catalogue does not hold.
    local_facts: str = ""
    local_overrides: list[str] = Field(default_factory=list)
    local_unknown: list[str] = Field(default_factory=list)

    def warn(self, field: str, example: str) -> None:
        entry = self.warnings.setdefault(field, FieldWarnings())
        entry.count += 1
        if len(entry.examples) < MAX_EXAMPLES:
            entry.examples.append(example)

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(SkippedRecord(path=path, reason=reason))

    def count_coverage(self, field: str, present: bool, parsed: bool) -> None:
        entry = self.coverage.setdefault(field, FieldCoverage())
        if present:
            entry.present += 1
            entry.parsed += int(parsed)

    @property
    def accounted_for(self) -> bool:
        """Every input record is either imported or skipped with a reason."""
        return len(self.procedures) + len(self.skipped) == self.total

    def render(self) -> str:
        """Human-readable report, printed by `tthc kb import`."""
        lines = [
            f"Source: {self.source} ({self.format} format)",
            f"Records read: {self.total}",
            f"Imported: {len(self.procedures)}",
            f"Skipped: {len(self.skipped)}",
        ]
        for item in self.skipped:
            lines.append(f"  - {item.path}: {item.reason}")
        if self.coverage:
            lines.append("Parse coverage (records whose source has the field -> parsed):")
            for field, cov in sorted(self.coverage.items()):
                lines.append(f"  {field}: {cov.parsed}/{cov.present} ({cov.ratio:.1%})")
        if self.warnings:
            lines.append("Parse warnings per field:")
            for field, entry in sorted(self.warnings.items()):
                lines.append(f"  {field}: {entry.count}")
                for example in entry.examples:
                    lines.append(f"    e.g. {example}")
        if self.local_facts:
            lines.append(f"Province facts: {self.local_facts}: {len(self.local_overrides)} field(s) replaced")
            lines += [f"  {line}" for line in self.local_overrides]
            if self.local_unknown:
                lines.append(f"  not in this catalogue (ignored): {', '.join(self.local_unknown)}")
        return "\n".join(lines)
