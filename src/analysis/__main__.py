"""``python -m analysis`` entry point."""

from analysis.cli import app

if __name__ == "__main__":  # pragma: no cover
    app()
