"""Regenerate the README's readings of the committed CIFAR-10 results (between their markers) with
``pe_lab.describe``: every comparison a t-test over seeds with its 95 % interval, so the README carries no verdict
typed by hand.

    python scripts/readme_results.py
"""

from pathlib import Path

from pe_lab import describe, read_report

REPORTS = ("cifar10_resnet20", "lenet_converged", "rivals_lenet")


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = root / "README.md"
    text = readme.read_text()
    for name in REPORTS:
        begin = f"<!-- describe:{name}:begin (python scripts/readme_results.py) -->"
        end = f"<!-- describe:{name}:end -->"
        start, stop = text.index(begin), text.index(end) + len(end)
        reading = describe(read_report(root / "assets" / "results" / f"{name}.json"))
        text = text[:start] + begin + "\n" + reading + "\n" + end + text[stop:]
    readme.write_text(text)
    print(f"rewrote the generated readings of {', '.join(REPORTS)} in {readme}")


if __name__ == "__main__":
    main()
