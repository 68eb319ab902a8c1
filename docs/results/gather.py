"""Gather the per-component result sections under docs/results/ into docs/results.md."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["backbones", "diffkg", "recdiff", "diffmm", "adagcl"]
HEADER = """# Results

Every figure here is a **test** metric at the epoch selected on **validation** data;
nothing was tuned on the test split. Each section names its command, data, seeds and machine.
Sections are kept one per file under `docs/results/` and gathered here by
`python docs/results/gather.py`.
"""


def main() -> None:
    parts = [HEADER]
    for name in ORDER:
        section = HERE / f"{name}.md"
        parts.append(section.read_text().strip() + "\n" if section.exists()
                     else f"## {name}\n\nNot yet measured.\n")
    (HERE.parent / "results.md").write_text("\n".join(parts))


if __name__ == "__main__":
    main()
